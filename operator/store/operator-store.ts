/** Everything the Operator stores, as one handle the composition root can open and close. */
import type { CollectiveStore } from './collective-store.js';
import type { Feed } from './feed.js';
import type { Mailbox } from './mailbox.js';
import type { PrekeyStore } from './prekey-store.js';
import type { Registry } from './registry.js';
import type { RegistryLog } from './registry-log.js';
import type { ReplayGuard } from './replay-guard.js';
import type { TokenLedger } from './token-ledger.js';

/**
 * All eight ports, plus durability and closing. An implementation may back them with one database
 * or several. Each operation's effect is visible to the operations after it at once; it is
 * **durable** only once {@link OperatorStore.durable} resolves, and the Operator answers no client
 * before that (so one fsync can serve every request of a moment).
 */
export interface OperatorStore
  extends
    Registry,
    RegistryLog,
    Mailbox,
    Feed,
    ReplayGuard,
    CollectiveStore,
    TokenLedger,
    PrekeyStore {
  /** Resolves once every change applied before the call is durable; rejects if it was lost. */
  durable(): Promise<void>;
  /** Commits pending writes and releases the store; later calls fail. */
  close(): Promise<void>;
}
