/** POST /v2/session: the signed handshake that opens a mailbox session. */
import { signDetached } from '../../../common/crypto/index.js';
import {
  SESSION_ROUTE,
  sessionGrantBytes,
  sessionOpenRequestSchema,
  toBase64url,
} from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Signed like any mailbox request, and its clock is checked, but its nonce is not remembered: no
 * durable row is written for it. A replayed handshake (within the clock window) opens a session
 * keyed by an exchange with the client's ephemeral public key, whose secret only the real client
 * holds: the replayer cannot derive the key, so the session is useless to them. A replay while
 * the original session is live is refused (`REPLAY`), so it cannot evict it either.
 *
 * The answer is signed with the Operator's sign key over the name, both ephemeral keys, the id
 * and the expiry, so the client knows the session is the pinned Operator's and its own.
 * @throws KomradeError `BAD_REQUEST`, `KEY_INVALID` (a low-order client key), `REPLAY`
 */
export const openSessionRoute: SignedRoute = {
  method: 'POST',
  template: SESSION_ROUTE,
  signed: true,
  handshake: true,
  // eslint-disable-next-line @typescript-eslint/require-await -- the route shape is async
  handle: async ({ deps, body, now, signer }) => {
    const { clientKey } = parseBody(sessionOpenRequestSchema, body, 'session request');
    const opened = deps.sessions.open(signer.name, clientKey, now);
    const grant = sessionGrantBytes({
      name: signer.name,
      clientKey,
      serverKey: opened.serverKey,
      session: opened.session,
      expiresAt: opened.expiresAt,
    });
    return {
      status: 201,
      body: {
        session: toBase64url(opened.session),
        serverKey: toBase64url(opened.serverKey),
        expiresAt: opened.expiresAt,
        sig: toBase64url(signDetached(grant, deps.keys.signSecret)),
      },
    };
  },
};
