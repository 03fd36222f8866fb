/** What request handlers need, passed in by the composition root (no module globals). */
import type { Logger } from '../../common/logging/index.js';
import type { CollectiveService } from '../collectives/collective-service.js';
import type { Clock } from '../clock.js';
import type { MailWaiters } from '../mail/mail-waiters.js';
import type { VerifiedWaitProofs } from '../mail/verified-wait-proofs.js';
import type { OperatorConfig } from '../config/operator-config.js';
import type { OperatorKeys } from '../keys/load-operator-keys.js';
import type { CheckpointSigner } from '../registry-log/checkpoint-signer.js';
import type { OperatorStore } from '../store/operator-store.js';
import type { SessionTable } from '../sessions/session-table.js';
import type { TokenVerifier } from '../tokens/check-token.js';

/** Dependencies shared by every handler. */
export interface OperatorDeps {
  readonly config: OperatorConfig;
  readonly store: OperatorStore;
  /**
   * The Operator's keys: `signSecret` signs receipts; the box pair is the `@komrades` key; `token`
   * is the POPRF key anonymous tokens are issued under and checked against.
   */
  readonly keys: OperatorKeys;
  /** Checks spent tokens against `keys.token`, with the per-epoch work done once. */
  readonly tokens: TokenVerifier;
  readonly logger: Logger;
  readonly now: Clock;
  /** Collectives: their verified logs in memory, appends serialised per collective. */
  readonly collectives: CollectiveService;
  /** Held waits for mail; every route that deposits mail wakes them once it is durable. */
  readonly mailWaiters: MailWaiters;
  /** Wait proofs already verified, so a group re-waiting costs lookups, not signature checks. */
  readonly waitProofs: VerifiedWaitProofs;
  /** Mailbox sessions, in memory only (a restart forgets them). */
  readonly sessions: SessionTable;
  /** Signs the registry log's checkpoints with `keys`, each size once. */
  readonly checkpoints: CheckpointSigner;
}
