/** GET /v1/log/consistency?from=A&to=B: the registry log's consistency proof between two sizes. */
import { KomradeError } from '../../../common/errors/index.js';
import { LOG_ROUTES, toBase64url } from '../../../common/wire/index.js';
import type { PublicRoute } from '../route.js';
import { logQuery } from './log-query.js';

/**
 * `{ from, to, hashes }` for 1 ≤ from ≤ to ≤ the log's size (equal sizes: no hashes).
 * @throws KomradeError `BAD_REQUEST` for anything else, or a query that is not exactly both
 */
export const logConsistencyRoute: PublicRoute = {
  method: 'GET',
  template: LOG_ROUTES.consistency,
  signed: false,
  handle: async ({ deps, query }) => {
    const { from, to } = logQuery(query, ['from', 'to']);
    if (from === 0) {
      throw new KomradeError(
        'BAD_REQUEST',
        '"from" must be at least 1: the empty tree proves nothing.',
      );
    }
    if (from > to) throw new KomradeError('BAD_REQUEST', '"from" must not exceed "to".');
    const { size } = await deps.store.logHead();
    if (to > size) {
      throw new KomradeError('BAD_REQUEST', `"to" is beyond the log, which has ${size} leaves.`);
    }
    const hashes = await deps.store.logConsistency(from, to);
    return { status: 200, body: { from, to, hashes: hashes.map(toBase64url) } };
  },
};
