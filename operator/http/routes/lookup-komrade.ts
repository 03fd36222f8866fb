/** GET /v1/komrades/:name: the public key directory. */
import { checkPublicKeys } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import { ROUTES, keysOfReceipt, parseName } from '../../../common/wire/index.js';
import { provenReceipt } from '../../registry-log/index.js';
import type { PublicRoute } from '../route.js';
import { receiptJson } from './receipt-json.js';

/**
 * Answers the Operator-signed receipt for a name (folded first, so `@Alice` finds `alice`), with
 * its registry log proof.
 * A collective's name is no komrade's: `NAME_UNKNOWN`, saying so. A name registered before keys
 * were checked may hold a small-order key: `KEY_INVALID` for that name only, never the receipt.
 * @throws KomradeError `NAME_INVALID`, `NAME_UNKNOWN`, `KEY_INVALID`
 */
export const lookupKomradeRoute: PublicRoute = {
  method: 'GET',
  template: `${ROUTES.komrade}:name`,
  signed: false,
  handle: async ({ deps, params }) => {
    let raw: string;
    try {
      raw = decodeURIComponent(params.name ?? '');
    } catch {
      throw new KomradeError('NAME_INVALID', 'The name in the path is not valid.');
    }
    const name = parseName(raw);
    if (!name.ok) throw name.error;
    const komrade = await deps.store.lookup(name.value);
    if (komrade === undefined) {
      throw new KomradeError(
        'NAME_UNKNOWN',
        (await deps.store.isCollective(name.value))
          ? 'That name is a collective’s, not a komrade’s.'
          : 'No komrade by that name.',
      );
    }
    const keys = checkPublicKeys(keysOfReceipt(komrade), `@${komrade.name}`);
    if (!keys.ok) throw keys.error;
    const proven = await provenReceipt(deps.store, deps.checkpoints, komrade.name);
    return { status: 200, body: receiptJson(proven.receipt, proven.proof) };
  },
};
