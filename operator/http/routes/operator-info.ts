/** GET /v1/operator: public facts about this Operator. */
import { ROUTES, toBase64url, type OperatorInfo } from '../../../common/wire/index.js';
import type { OperatorDeps } from '../operator-deps.js';
import type { PublicRoute } from '../route.js';

/** The body of GET /v1/operator as JSON-ready data. */
export function operatorInfo(deps: Pick<OperatorDeps, 'config' | 'keys'>): Record<string, unknown> {
  const { config, keys } = deps;
  const info: Record<keyof OperatorInfo, unknown> = {
    version: 2,
    signKey: toBase64url(keys.signPublic),
    feedKey: toBase64url(keys.boxPublic),
    tokenKey: toBase64url(keys.token.publicKey),
    tokensPerDay: config.tokens.perDay,
    powBits: config.registration.powBits,
    limits: {
      sealedLetterBytes: config.mail.maxSealedLetterBytes,
      batchLetters: config.mail.maxBatchLetters,
      requestBytes: config.http.maxRequestBytes,
      maxPostDays: config.feed.maxPostDays,
      feedPageSize: config.feed.pageSize,
      fetchLetters: config.mail.fetchLetters,
    },
  };
  return info;
}

/** GET /v1/operator. */
export const operatorInfoRoute: PublicRoute = {
  method: 'GET',
  template: ROUTES.operator,
  signed: false,
  handle: ({ deps }) => ({ status: 200, body: operatorInfo(deps) }),
};
