/**
 * Periodically deletes expired letters (and the shared bodies they leave unreferenced), expired
 * posts, nonces too old to matter, the spent tokens and issue counts of ended token epochs, and
 * the one-time prekey hand-out counts of past hours.
 */
import { acceptedTokenEpochs, tokenEpochOf } from '../../common/wire/index.js';
import type { Logger } from '../../common/logging/index.js';
import type { Clock } from '../clock.js';
import type { Feed } from '../store/feed.js';
import type { Mailbox } from '../store/mailbox.js';
import type { OperatorStore } from '../store/operator-store.js';
import { handoutHour, type PrekeyStore } from '../store/prekey-store.js';
import type { ReplayGuard } from '../store/replay-guard.js';
import type { TokenLedger } from '../store/token-ledger.js';

/** Options for {@link Sweeper}. */
export interface SweeperOptions {
  readonly store: Pick<Mailbox, 'sweepExpiredLetters'> &
    Pick<Feed, 'sweepExpiredPosts'> &
    Pick<ReplayGuard, 'sweepExpiredNonces'> &
    Pick<TokenLedger, 'sweepTokenEpochs'> &
    Pick<PrekeyStore, 'sweepPrekeyHandouts'> &
    Pick<OperatorStore, 'durable'>;
  readonly intervalMs: number;
  readonly logger: Logger;
  /**
   * With several Operators on one database: runs a round only when no other Operator is in one
   * (PostgreSQL's `sweepLock`). Without it every round runs.
   */
  readonly exclusive?: {
    tryRun<T>(round: () => Promise<T>): Promise<T | undefined>;
  };
  /** @defaultValue `Date.now` */
  readonly now?: Clock;
}

/** How much one sweep deleted. */
export interface SweepResult {
  readonly letters: number;
  readonly posts: number;
  readonly nonces: number;
  /** Spent-token rows of epochs no longer accepted. */
  readonly spentTokens: number;
  /** Issue counts of epochs before the current one. */
  readonly tokenAllowances: number;
  /** One-time prekey hand-out counts of past hours. */
  readonly prekeyHandouts: number;
  /** True when another Operator was sweeping, so this round deleted nothing. */
  readonly skipped?: true;
}

const SKIPPED: SweepResult = {
  letters: 0,
  posts: 0,
  nonces: 0,
  spentTokens: 0,
  tokenAllowances: 0,
  prekeyHandouts: 0,
  skipped: true,
};

/** Runs {@link Sweeper.sweep} every interval; never two sweeps at once. */
export class Sweeper {
  readonly #options: SweeperOptions;
  readonly #now: Clock;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SweepResult> | undefined;

  constructor(options: SweeperOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Starts the interval (the timer does not keep the process alive). */
  start(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => {
      this.sweep().catch(() => {
        this.#options.logger.error('sweeper.failed');
      });
    }, this.#options.intervalMs);
    this.#timer.unref();
  }

  /** Stops the interval and waits for a sweep in progress. */
  async stop(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** Sweeps once now (or joins the sweep already running). */
  sweep(): Promise<SweepResult> {
    if (this.#running !== undefined) return this.#running;
    const { exclusive } = this.#options;
    const round =
      exclusive === undefined
        ? this.#sweepOnce()
        : exclusive.tryRun(() => this.#sweepOnce()).then((result) => result ?? SKIPPED);
    this.#running = round.finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #sweepOnce(): Promise<SweepResult> {
    const { store, logger } = this.#options;
    const now = this.#now();
    const oldestAccepted = Math.min(...acceptedTokenEpochs(now));
    const [letters, posts, nonces, tokens, prekeyHandouts] = await Promise.all([
      store.sweepExpiredLetters(now),
      store.sweepExpiredPosts(now),
      store.sweepExpiredNonces(now),
      store.sweepTokenEpochs(oldestAccepted, tokenEpochOf(now)),
      store.sweepPrekeyHandouts(handoutHour(now)),
    ]);
    await store.durable();
    const result = {
      letters,
      posts,
      nonces,
      spentTokens: tokens.spent,
      tokenAllowances: tokens.allowances,
      prekeyHandouts,
    };
    if (letters + posts + tokens.spent + tokens.allowances + prekeyHandouts > 0) {
      logger.info('sweeper.swept', result);
    }
    return result;
  }
}
