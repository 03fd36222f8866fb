/** POST /v1/collectives/log: a page of a collective's log, for its members and candidates. */
import {
  COLLECTIVE_ROUTES,
  MAX_COLLECTIVE_LOG_PAGE,
  collectiveLogRequestSchema,
} from '../../../common/wire/index.js';
import { provenReceipts } from '../../registry-log/index.js';
import { parseBody, type SignedRoute } from '../route.js';
import { signedEventJson } from './collective-json.js';
import { receiptJson } from './receipt-json.js';

/**
 * Events from `from` (default 0) on, at most `limit` (default and ceiling
 * `MAX_COLLECTIVE_LOG_PAGE`), with the Operator's receipt of every name they mention (each with
 * its registry log proof, all against one checkpoint). Anyone
 * else than a current member or pending candidate gets `NOT_MEMBER` and nothing more.
 * @throws KomradeError `NAME_INVALID`, `NAME_UNKNOWN`, `NOT_MEMBER`
 */
export const collectiveLogRoute: SignedRoute = {
  method: 'POST',
  template: COLLECTIVE_ROUTES.log,
  signed: true,
  handle: async ({ deps, body, signer }) => {
    const request = parseBody(collectiveLogRequestSchema, body, 'log request');
    const page = await deps.collectives.log(
      signer,
      request.collective,
      request.from ?? 0,
      request.limit ?? MAX_COLLECTIVE_LOG_PAGE,
    );
    // One head for the whole page: every receipt is proved against the same checkpoint.
    const receipts = await provenReceipts(
      deps.store,
      deps.checkpoints,
      page.komrades.map((komrade) => komrade.name),
    );
    return {
      status: 200,
      body: {
        collective: page.collective,
        from: page.from,
        events: page.events.map(signedEventJson),
        length: page.length,
        receipts: receipts.map(({ receipt, proof }) => receiptJson(receipt, proof).receipt),
      },
    };
  },
};
