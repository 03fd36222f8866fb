/**
 * Cross-Operator mail wake-ups on PostgreSQL: every deposit transaction runs
 * `pg_notify(channel, <the depositing store's instance id>)`, delivered at commit to every
 * session that LISTENs; each Operator LISTENs on one dedicated connection. The payload names no
 * mailbox: it only lets an Operator skip its own deposits, whose routes wake their waits already.
 * A lost connection is re-opened with back-off, and every wait re-checks after each (re)connect,
 * since notifications sent while it was down are gone.
 */
import pg from 'pg';
import type { Logger } from '../../../common/logging/index.js';
import type { MailSignal, OnMailSignal } from '../../mail/mail-signal.js';

/** The channel deposits notify on. */
export const MAIL_CHANNEL = 'komrade_mail';

const FIRST_RETRY_MS = 100;
const MAX_RETRY_MS = 5_000;

/** Options for {@link PostgresMailSignal}. */
export interface PostgresMailSignalOptions {
  readonly connectionString: string;
  /** The instance id this Operator's store notifies with; its own deposits are not signalled. */
  readonly self: string;
  readonly logger?: Logger;
}

/** LISTENs for deposits made through other Operators on the same database. */
export class PostgresMailSignal implements MailSignal {
  readonly #options: PostgresMailSignalOptions;
  #client: pg.Client | undefined;
  #onMail: OnMailSignal | undefined;
  #retryMs = FIRST_RETRY_MS;
  #retryTimer: NodeJS.Timeout | undefined;
  #closed = false;
  /** Connections opened so far, the first included (tests and metrics). */
  connects = 0;

  constructor(options: PostgresMailSignalOptions) {
    this.#options = options;
  }

  async start(onMail: OnMailSignal): Promise<void> {
    this.#onMail = onMail;
    // The first connection must work: a wrong URL fails the start, not later in a loop.
    await this.#connect();
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#retryTimer);
    const client = this.#client;
    this.#client = undefined;
    await client?.end().catch(() => undefined);
  }

  async #connect(): Promise<void> {
    const client = new pg.Client({ connectionString: this.#options.connectionString });
    let lost = false;
    const onLost = (): void => {
      if (lost) return;
      lost = true;
      if (this.#client === client) this.#client = undefined;
      void client.end().catch(() => undefined);
      this.#scheduleReconnect();
    };
    client.on('error', onLost);
    client.on('end', onLost);
    client.on('notification', (message) => {
      if (message.channel !== MAIL_CHANNEL || message.payload === this.#options.self) return;
      this.#onMail?.();
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${MAIL_CHANNEL}`);
    } catch (error) {
      lost = true;
      await client.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      lost = true;
      await client.end().catch(() => undefined);
      return;
    }
    this.#client = client;
    this.#retryMs = FIRST_RETRY_MS;
    this.connects++;
    // Anything deposited while no connection listened was not heard: every wait looks again.
    if (this.connects > 1) this.#onMail?.();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    this.#options.logger?.warn('mail.signal_lost', { retryMs: this.#retryMs });
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#connect().catch(() => {
        this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
        this.#scheduleReconnect();
      });
    }, this.#retryMs);
    this.#retryTimer.unref();
  }
}
