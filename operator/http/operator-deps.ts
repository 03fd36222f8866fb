/** What request handlers need, passed in by the composition root (no module globals). */
import type { IdentityKeys } from '../../common/crypto/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { CollectiveService } from '../collectives/collective-service.js';
import type { Clock } from '../clock.js';
import type { MailWaiters } from '../mail/mail-waiters.js';
import type { VerifiedWaitProofs } from '../mail/verified-wait-proofs.js';
import type { OperatorConfig } from '../config/operator-config.js';
import type { OperatorStore } from '../store/operator-store.js';

/** Dependencies shared by every handler. */
export interface OperatorDeps {
  readonly config: OperatorConfig;
  readonly store: OperatorStore;
  /** The Operator's identity: `signSecret` signs receipts; the box pair is the `@komrades` key. */
  readonly keys: IdentityKeys;
  readonly logger: Logger;
  readonly now: Clock;
  /** Collectives: their verified logs in memory, appends serialised per collective. */
  readonly collectives: CollectiveService;
  /** Held waits for mail; every route that deposits mail wakes them once it is durable. */
  readonly mailWaiters: MailWaiters;
  /** Wait proofs already verified, so a group re-waiting costs lookups, not signature checks. */
  readonly waitProofs: VerifiedWaitProofs;
}
