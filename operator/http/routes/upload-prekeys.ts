/** POST /v1/prekeys: the signer publishes (or replaces, or tops up) its prekeys. */
import { PREKEY_ROUTES, prekeyUploadSchema } from '../../../common/wire/index.js';
import { parseBody, type SignedRoute } from '../route.js';

/**
 * Signed by the identity. A signed or Kyber prekey replaces the stored one; one-time prekeys are
 * added, all or none; with `replaceOneTime` they replace all held (a restored client's). The
 * Operator checks the keys' shapes only (it has no libsignal): whoever
 * fetches a bundle checks the signatures against the receipt's ratchet key. An empty body only
 * answers what is held.
 * @throws KomradeError `BAD_REQUEST` (a malformed key, more than 100 one-time prekeys),
 * `PREKEY_ID_USED`, `PREKEYS_FULL`
 */
export const uploadPrekeysRoute: SignedRoute = {
  method: 'POST',
  template: PREKEY_ROUTES.upload,
  signed: true,
  handle: async ({ deps, body, signer }) => {
    const upload = parseBody(prekeyUploadSchema, body, 'prekey upload');
    const counts = await deps.store.storePrekeys(
      signer.name,
      upload,
      deps.config.prekeys.maxOneTime,
    );
    return { status: 200, body: counts };
  },
};
