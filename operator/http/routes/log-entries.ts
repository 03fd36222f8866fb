/** GET /v1/log/entries?start=S&end=E: the receipts of a range of the registry log's leaves. */
import { KomradeError } from '../../../common/errors/index.js';
import { LOG_ROUTES, MAX_LOG_ENTRIES } from '../../../common/wire/index.js';
import type { PublicRoute } from '../route.js';
import { logQuery } from './log-query.js';
import { receiptJson } from './receipt-json.js';

/**
 * `{ start, entries }`: the receipts of leaves start to end − 1, without proofs (a monitor
 * rebuilds the tree from them). Needs start below end, end − start ≤ MAX_LOG_ENTRIES and
 * start ≤ the log's size; an `end` beyond the size is cut to it (fewer entries come back).
 * @throws KomradeError `BAD_REQUEST` for anything else, or a query that is not exactly both
 */
export const logEntriesRoute: PublicRoute = {
  method: 'GET',
  template: LOG_ROUTES.entries,
  signed: false,
  handle: async ({ deps, query }) => {
    const { start, end } = logQuery(query, ['start', 'end']);
    if (start >= end) throw new KomradeError('BAD_REQUEST', '"start" must be below "end".');
    if (end - start > MAX_LOG_ENTRIES) {
      throw new KomradeError('BAD_REQUEST', `At most ${MAX_LOG_ENTRIES} entries at once.`);
    }
    const { size } = await deps.store.logHead();
    if (start > size) {
      throw new KomradeError('BAD_REQUEST', `"start" is beyond the log, which has ${size} leaves.`);
    }
    const entries = await deps.store.logEntries(start, Math.min(end, size));
    return {
      status: 200,
      body: { start, entries: entries.map((entry) => receiptJson(entry).receipt) },
    };
  },
};
