/**
 * The outbox: keeps what an identity's client prepared (a sealed letter, a sealed collective
 * fan-out) as a row of the bridge store's durable outbox, encrypted under the queue key, queues a
 * job named after the row, and hands it to the Operator, retrying while Tor or the Operator are
 * down. The row goes only once the Operator took the send (or refused it for good), so a crash or
 * an emptied Redis loses nothing: the rows are queued again (see {@link Outbox.requeueAll}), and a
 * send made twice carries the same letter id, which every recipient keeps once. A collective
 * message the Operator refuses because the membership changed (`COLLECTIVE_CONFLICT`) is sealed
 * again for the members of now, and the row keeps the new sealing.
 *
 * Every letter goes as one anonymous send paid with a token of its identity's wallet (see
 * `KomradeClient.deliver`). Letters queued together are a fan-out (a post to followers): each copy
 * is its own job with a random BullMQ delay over {@link BRIDGE_FAN_OUT_WINDOW}, so the copies
 * reach the Operator at scattered moments on scattered circuits, mixed with other users' sends.
 */
import type { Job, Queue, Worker } from 'bullmq';
import type { CollectiveMessage, SealedCollectiveMessage } from '../../common/collectives/index.js';
import { fanOutDelays, type FanOutWindow } from '../../client/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { KomradeError, isKomradeError } from '../../common/errors/index.js';
import type {
  AddOutboxResult,
  BridgeStore,
  NewOutboxRow,
  OutboxRow,
} from '../identity-vault/bridge-store.js';
import type { CollectiveOutboxEntry, EnvelopeCodec, OutboxEntry } from '../queue/envelope-codec.js';
import { decodeJob, outboxJobId, type JobPayloads } from '../queue/jobs.js';
import { codeOf, forQueue } from './job-failures.js';
import type { Notices } from './notices.js';
import { openQueue, startWorker, type QueueContext } from './queue-context.js';
import { signerOf, type Session, type Sessions } from './sessions.js';

/**
 * How a bot spreads a post's copies: up to 5 s a copy, 2 minutes at most. Nobody watches a
 * terminal here, so the window is wider than the CLI's; the user was answered already.
 */
export const BRIDGE_FAN_OUT_WINDOW: FanOutWindow = Object.freeze({
  perCopyMs: 5_000,
  maxMs: 120_000,
});

/** Seals again at most this many times in one run of a job before backing off. */
const MAX_RESEALS = 3;

/** How long a command waits for its jobs to reach Redis; later they are queued in the background. */
const ENQUEUE_WAIT_MS = 2_000;

const OUTBOX_JOB = {
  attempts: 12,
  backoff: { type: 'custom' },
  removeOnComplete: true,
  removeOnFail: true,
} as const;

/** The platform event a send answers, recorded with its rows in one transaction. */
export interface HandledBy {
  readonly event: string;
  /** What the command answered, encoded (see handled-events.ts). */
  readonly result: string;
}

/** What {@link Outbox} needs. */
export interface OutboxDeps extends QueueContext {
  readonly store: BridgeStore;
  readonly codec: EnvelopeCodec;
  readonly sessions: Sessions;
  readonly notices: Notices;
  /** Called once the Operator took a send, with the names it went to (to fetch those held here). */
  readonly onSent: (recipients: readonly string[]) => Promise<void>;
  /** The window a fan-out's copies are spread over. @defaultValue {@link BRIDGE_FAN_OUT_WINDOW} */
  readonly fanOut?: FanOutWindow;
}

/** Keeps sealed sends durably, queues them, and hands them to the Operator. */
export class Outbox {
  readonly #deps: OutboxDeps;
  readonly #queue: Queue<JobPayloads['outbox']>;
  #worker: Worker<JobPayloads['outbox']> | undefined;
  /** Rows being handed to the Operator in this process: a second job for one waits. */
  readonly #sending = new Set<string>();

  constructor(deps: OutboxDeps) {
    this.#deps = deps;
    this.#queue = openQueue(deps, 'outbox');
  }

  /** Starts handing queued sends to the Operator; a send given up on is told to its sender. */
  start(concurrency: number): void {
    if (this.#worker !== undefined) return;
    const worker = startWorker(
      this.#deps,
      'outbox',
      (job, _token, signal) => this.#process(job, signal),
      concurrency,
    );
    worker.on('failed', (job, error) => {
      if (job === undefined) return;
      const gaveUp =
        error.name === 'UnrecoverableError' || job.attemptsMade >= (job.opts.attempts ?? 1);
      if (gaveUp) void this.#gaveUp(job.data, codeOf(error));
    });
    this.#worker = worker;
  }

  /**
   * Writes letters already sealed by the identity's client into the outbox (with `handled`, in the
   * same transaction as the record of the event they answer), then queues one job each.
   * @returns the rows, or the earlier record when `handled.event` was handled before (nothing
   * written, nothing queued)
   */
  async queueLetters(
    identity: string,
    entries: readonly OutboxEntry[],
    handled?: HandledBy,
  ): Promise<AddOutboxResult> {
    return this.#add(
      entries.map((entry) => ({
        identity,
        kind: 'letter',
        envelope: this.#deps.codec.encode(identity, entry),
      })),
      handled,
    );
  }

  /**
   * Writes a collective message sealed to its members (with the message, to seal it again) into
   * the outbox, then queues it. See {@link Outbox.queueLetters}.
   */
  async queueCollective(
    identity: string,
    entry: CollectiveOutboxEntry,
    handled?: HandledBy,
  ): Promise<AddOutboxResult> {
    const envelope = this.#deps.codec.encodeCollective(identity, entry);
    return this.#add([{ identity, kind: 'collective', envelope }], handled);
  }

  async #add(rows: readonly NewOutboxRow[], handled?: HandledBy): Promise<AddOutboxResult> {
    // Written to disk before Redis hears of it: from here on, a crash cannot lose the send.
    const added = this.#deps.store.addOutbox(rows, handled);
    if (!added.added || added.rows.length === 0) return added;
    const queued = this.#enqueue(added.rows, added.rows.length > 1);
    // Redis away: the command is answered anyway (the rows are safe), and the jobs follow.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      queued.catch((error: unknown) => {
        this.#deps.logger.warn('bridge.enqueue_failed', { code: codeOf(error) });
      }),
      new Promise<void>((resolveLater) => {
        timer = setTimeout(resolveLater, ENQUEUE_WAIT_MS);
      }),
    ]);
    clearTimeout(timer);
    return added;
  }

  /**
   * Queues a job per row, named after it: a row already queued is not queued twice. A fan-out's
   * jobs wait random moments over the fan-out window, in random order.
   */
  async #enqueue(rows: readonly OutboxRow[], fanOut = false): Promise<void> {
    if (rows.length === 0) return;
    const delays = fanOut
      ? fanOutDelays(rows.length, randomBytes, this.#deps.fanOut ?? BRIDGE_FAN_OUT_WINDOW)
      : [];
    // Gaps to moments since now, then dealt to the rows at random.
    let at = 0;
    const moments = delays.map((gap) => (at += gap));
    for (let i = moments.length - 1; i > 0; i--) {
      const bytes = randomBytes(4);
      const j = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0) % (i + 1);
      [moments[i], moments[j]] = [moments[j] ?? 0, moments[i] ?? 0];
    }
    await this.#queue.addBulk(
      rows.map((row, i) => ({
        name: row.kind === 'collective' ? 'collective' : 'outbox',
        data: { identity: row.identity, row: row.id },
        opts: {
          ...OUTBOX_JOB,
          jobId: outboxJobId(row.id),
          ...(fanOut ? { delay: moments[i] ?? 0 } : {}),
        },
      })),
    );
  }

  /**
   * Queues every send still in the outbox (at start, and when Redis came back empty).
   * @returns how many
   */
  async requeueAll(): Promise<number> {
    const rows = this.#deps.store.outboxRows();
    // In slices: a long outbox is not one huge Redis pipeline.
    for (let at = 0; at < rows.length; at += 500) await this.#enqueue(rows.slice(at, at + 500));
    return rows.length;
  }

  /**
   * Moves sends that older versions kept only in Redis (the sealed send in the job itself) into
   * the outbox; run at start, before {@link Outbox.obliterate}.
   * @returns how many
   */
  async adoptLegacyJobs(): Promise<number> {
    const jobs = await this.#queue.getJobs([
      'waiting',
      'delayed',
      'active',
      'prioritized',
      'failed',
    ]);
    let adopted = 0;
    for (const job of jobs) {
      let data;
      try {
        data = decodeJob('outbox', job.data);
      } catch {
        continue;
      }
      if ('row' in data) continue;
      const kind = 'kind' in data ? 'collective' : 'letter';
      this.#deps.store.addOutbox([{ identity: data.identity, kind, envelope: data.envelope }]);
      adopted++;
    }
    return adopted;
  }

  /**
   * Empties this prefix's outbox queue in Redis, jobs left active by a killed process included:
   * one process per prefix, and the rows say what is still to send. Only before the worker runs.
   */
  async obliterate(): Promise<void> {
    await this.#queue.obliterate({ force: true });
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#queue.close();
  }

  async #process(job: Job<JobPayloads['outbox']>, signal: AbortSignal | undefined): Promise<void> {
    const data = decodeJob('outbox', job.data);
    if (!('row' in data)) {
      // Queued by an older version after this one started (it should not be): keep it durably.
      const kind = 'kind' in data ? 'collective' : 'letter';
      const added = this.#deps.store.addOutbox([
        { identity: data.identity, kind, envelope: data.envelope },
      ]);
      if (added.added) await this.#enqueue(added.rows);
      return;
    }
    const row = this.#deps.store.outboxRow(data.row);
    // Sent already (the row goes once the Operator took it), or its identity was forgotten.
    if (row === undefined) return;
    if (this.#sending.has(row.id)) throw new Error('BUSY');
    this.#sending.add(row.id);
    try {
      if (signal?.aborted === true) throw new Error('ABORTED');
      const recipients =
        row.kind === 'collective'
          ? await this.#sendCollective(job, row)
          : await this.#sendLetter(job, row);
      // A crash before this line sends it again: same letter id, kept once by the recipient.
      this.#deps.store.deleteOutbox(row.id);
      await this.#deps.onSent(recipients);
    } finally {
      this.#sending.delete(row.id);
    }
  }

  async #sendLetter(job: Job<JobPayloads['outbox']>, row: OutboxRow): Promise<readonly string[]> {
    try {
      const session = this.#session(row.identity);
      const entry = this.#deps.codec.decode(row.identity, row.envelope);
      // Anonymously, paid with one token; a retry of this job pays with the same token.
      await session.client.deliver(entry);
      this.#deps.logger.debug('bridge.sent', { job: job.id });
      return [entry.to];
    } catch (error) {
      this.#deps.logger.warn('bridge.send_failed', {
        job: job.id,
        code: codeOf(error),
        attempt: job.attemptsMade + 1,
      });
      throw forQueue(error);
    }
  }

  /**
   * Hands a sealed collective message to the Operator. When the membership changed since it was
   * sealed (`COLLECTIVE_CONFLICT`), seals it again for the members of now, same id and time, and
   * stores the new sealing in the row, so a restart goes on from there.
   */
  async #sendCollective(
    job: Job<JobPayloads['outbox']>,
    row: OutboxRow,
  ): Promise<readonly string[]> {
    const identity = row.identity;
    try {
      const session = this.#session(identity);
      const signer = signerOf(session);
      const entry = this.#deps.codec.decodeCollective(identity, row.envelope);
      const { message } = entry;
      let { sealed } = entry;
      for (let reseals = 0; ; reseals++) {
        try {
          await session.operator.sendToCollective(signer, message.collective, sealed);
          break;
        } catch (error) {
          if (!isKomradeError(error, 'COLLECTIVE_CONFLICT') || reseals >= MAX_RESEALS) throw error;
        }
        const again = await this.#reseal(session, message);
        if (again === undefined) {
          this.#deps.logger.info('bridge.collective_nobody_left', { job: job.id });
          return [];
        }
        sealed = again;
        this.#deps.store.updateOutboxEnvelope(
          row.id,
          this.#deps.codec.encodeCollective(identity, { message, sealed }),
        );
        this.#deps.logger.debug('bridge.collective_resealed', { job: job.id });
      }
      this.#deps.logger.debug('bridge.collective_sent', { job: job.id, count: sealed.keys.length });
      return sealed.keys.map((k) => k.to);
    } catch (error) {
      this.#deps.logger.warn('bridge.collective_send_failed', {
        job: job.id,
        code: codeOf(error),
        attempt: job.attemptsMade + 1,
      });
      throw forQueue(error);
    }
  }

  async #reseal(
    session: Session,
    message: CollectiveMessage,
  ): Promise<SealedCollectiveMessage | undefined> {
    // The identity's client re-syncs the log and seals for the members of now (same id and time).
    const sealing = await session.client.resealCollectiveMessage(message);
    if (sealing !== undefined && sealing.failed.length > 0) {
      this.#deps.logger.warn('bridge.collective_unsealable', { count: sealing.failed.length });
    }
    return sealing?.sealed;
  }

  /** @throws `KEYSTORE_MISSING` (permanent) when the identity was forgotten meanwhile */
  #session(identity: string): Session {
    const session = this.#deps.sessions.get(identity);
    if (session === undefined) {
      throw new KomradeError('KEYSTORE_MISSING', 'The identity of this send is gone.');
    }
    return session;
  }

  /** A send failed for good: its sender is told, and its row goes. */
  async #gaveUp(data: JobPayloads['outbox'], code: string): Promise<void> {
    let row: OutboxRow | undefined;
    try {
      const decoded = decodeJob('outbox', data);
      if (!('row' in decoded)) return;
      row = this.#deps.store.outboxRow(decoded.row);
      if (row === undefined) return;
      const session = this.#deps.sessions.get(row.identity);
      if (session === undefined) return;
      if (row.kind === 'collective') {
        const { message } = this.#deps.codec.decodeCollective(row.identity, row.envelope);
        await this.#deps.notices.tell(session, {
          kind: 'collective-send-failed',
          collective: message.collective,
          code,
        });
        return;
      }
      const { to } = this.#deps.codec.decode(row.identity, row.envelope);
      await this.#deps.notices.tell(session, { kind: 'send-failed', to, code });
    } catch (error) {
      this.#deps.logger.warn('bridge.notify_failed', { code: codeOf(error) });
    } finally {
      if (row !== undefined) this.#deps.store.deleteOutbox(row.id);
    }
  }
}
