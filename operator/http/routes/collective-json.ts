/** Collective answers as the JSON of the API (`common/wire/collective-api.ts`). */
import type { SignedCollectiveEvent } from '../../../common/collectives/index.js';
import { toBase64url } from '../../../common/wire/index.js';
import type { CollectiveHeadInfo } from '../../collectives/collective-service.js';

/** A head as `collectiveHeadSchema` JSON. */
export function collectiveHeadJson(info: CollectiveHeadInfo): Record<string, unknown> {
  return {
    collective: info.collective,
    length: info.length,
    head: toBase64url(info.head),
    lastAt: info.lastAt,
  };
}

/** A signed event as `signedEventSchema` JSON. */
export function signedEventJson(event: SignedCollectiveEvent): Record<string, string> {
  return { signed: toBase64url(event.signed), sig: toBase64url(event.sig) };
}
