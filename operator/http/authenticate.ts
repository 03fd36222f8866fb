/**
 * Authenticates a mailbox request: a signed one (header, registered signer, signature, clock,
 * replay) or one MACed in a mailbox session (session, MAC, sequence number).
 */
import { sessionMacVerifies } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  SESSION_ROUTE,
  parseRequestAuth,
  parseSessionAuth,
  sessionRequestBytes,
  verifyRequestAuth,
} from '../../common/wire/index.js';
import type { RegisteredKomrade } from '../store/registry.js';
import type { OperatorDeps } from './operator-deps.js';

/** The parts of a request its signature covers. */
export interface SignedParts {
  readonly authorization: string | undefined;
  readonly method: string;
  readonly path: string;
  readonly body: Uint8Array;
  readonly now: number;
}

/**
 * Returns the registered komrade who signed the request. The signature is checked against the key
 * registered for the claimed name, and the nonce is remembered durably until it is too old to pass
 * the clock check anyway, so a replay fails even after a restart (unless `rememberNonce` is false:
 * the session handshake only).
 * @throws KomradeError `AUTH_REQUIRED`, `BAD_REQUEST`, `NAME_UNKNOWN`, `BAD_SIGNATURE`,
 * `CLOCK_SKEW`, `REPLAY`
 */
export async function authenticate(
  deps: OperatorDeps,
  parts: SignedParts,
  options: { readonly rememberNonce?: boolean } = {},
): Promise<RegisteredKomrade> {
  const parsed = parseRequestAuth(parts.authorization);
  if (!parsed.ok) throw parsed.error;
  const auth = parsed.value;
  const signer = await deps.store.lookup(auth.name);
  if (signer === undefined) {
    throw new KomradeError('NAME_UNKNOWN', 'The signer of this request is not registered.');
  }
  if (!verifyRequestAuth(auth, parts.method, parts.path, parts.body, signer.signKey)) {
    throw new KomradeError('BAD_SIGNATURE', 'The request signature does not verify.');
  }
  if (Math.abs(auth.at - parts.now) > CLOCK_SKEW_MS) {
    throw new KomradeError(
      'CLOCK_SKEW',
      `The request time is more than ${CLOCK_SKEW_MS / 60_000} minutes from the Operator's clock; check your clock.`,
    );
  }
  // The session handshake writes no row: see `openSessionRoute`.
  if (options.rememberNonce === false) return signer;
  // Kept one millisecond past the last moment the clock check would still accept it.
  if (!(await deps.store.remember(auth.name, auth.nonce, auth.at + CLOCK_SKEW_MS + 1))) {
    throw new KomradeError('REPLAY', 'This request was already received once.');
  }
  return signer;
}

/**
 * Returns the owner of the mailbox session a `KomradeSession` request names, once its MAC
 * verifies (in constant time) and its sequence number is new to the session. Nothing is written:
 * the sequence numbers seen live in the session, in memory. The MAC is checked before the window
 * is touched, so nobody without the key can use up a session's numbers.
 * @throws KomradeError `BAD_REQUEST` (malformed header), `SESSION_UNKNOWN`, `BAD_SIGNATURE`,
 * `REPLAY`, `NAME_UNKNOWN`
 */
export async function authenticateSession(
  deps: OperatorDeps,
  parts: SignedParts,
): Promise<RegisteredKomrade> {
  const parsed = parseSessionAuth(parts.authorization ?? '');
  if (!parsed.ok) throw parsed.error;
  const auth = parsed.value;
  const session = deps.sessions.find(auth.session, parts.now);
  if (session === undefined) {
    throw new KomradeError(
      'SESSION_UNKNOWN',
      `This session is unknown or has expired (the Operator keeps sessions in memory only): open a new session (POST ${SESSION_ROUTE}).`,
    );
  }
  const bytes = sessionRequestBytes({
    method: parts.method,
    path: parts.path,
    session: auth.session,
    seq: auth.seq,
    body: parts.body,
  });
  if (!sessionMacVerifies(session.key, auth.mac, bytes)) {
    throw new KomradeError('BAD_SIGNATURE', 'The request MAC does not verify for this session.');
  }
  if (!session.window.accept(auth.seq)) {
    throw new KomradeError(
      'REPLAY',
      'This sequence number was already used in this session, or is too old to tell.',
    );
  }
  const owner = await deps.store.lookup(session.name);
  if (owner === undefined) {
    throw new KomradeError('NAME_UNKNOWN', 'The owner of this session is not registered.');
  }
  return owner;
}
