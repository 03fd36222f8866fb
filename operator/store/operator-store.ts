/** Everything the Operator stores, as one handle the composition root can open and close. */
import type { Feed } from './feed.js';
import type { Mailbox } from './mailbox.js';
import type { Registry } from './registry.js';
import type { ReplayGuard } from './replay-guard.js';

/** All four ports, plus closing. An implementation may back them with one database or several. */
export interface OperatorStore extends Registry, Mailbox, Feed, ReplayGuard {
  /** Commits pending writes and releases the store; later calls fail. */
  close(): Promise<void>;
}
