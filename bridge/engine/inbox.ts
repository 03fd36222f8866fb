/**
 * The inbox: fetches an identity's waiting mail, triages each letter (verify, drop, apply a follow
 * statement, keep), and records what is to be shown in the delivery ledger, so the delivery worker
 * shows it before the Operator may forget it.
 */
import type { Job, Queue, Worker } from 'bullmq';
import {
  PROCESSED_LETTER_RETENTION_MS,
  type Triaged,
  type WaitingLetter,
} from '../../client/index.js';
import { toBase64url } from '../../common/wire/index.js';
import type { BridgeStore, Delivery } from '../identity-vault/bridge-store.js';
import { decodeJob, type JobPayloads } from '../queue/jobs.js';
import { encodeCollectiveContent, encodeLetterContent } from './collective-content.js';
import { codeOf } from './job-failures.js';
import type { Notices } from './notices.js';
import type { PendingAcks } from './pending-acks.js';
import { openQueue, startWorker, type QueueContext } from './queue-context.js';
import { signerOf, type Session, type Sessions } from './sessions.js';

/** Letters fetched per poll; more wait for the next poll (unacknowledged ones come first). */
const FETCH_LIMIT = 100;

/** A wake-up waits at most this long for its fetch (a job lost with Redis must not mute it). */
const WAKE_FETCH_BOUND_MS = 30_000;

const POLL_JOB = { removeOnComplete: true, removeOnFail: true, attempts: 1 } as const;

/** What {@link Inbox} needs. */
export interface InboxDeps extends QueueContext {
  readonly store: BridgeStore;
  readonly sessions: Sessions;
  readonly notices: Notices;
  /** Queues the showing of a recorded delivery. */
  readonly deliver: (identity: string, delivery: string) => Promise<void>;
  readonly now: () => number;
  /** How often each identity's mail is fetched (when nobody waits for mail: see `watched`). */
  readonly pollIntervalMs: number;
  /** True when a mail watcher wakes fetches: then no identity has a poll schedule. */
  readonly watched?: boolean;
  /**
   * Acks waiting for a ride: each fetch carries what waits for its identity, and the letters a
   * fetch lets go without showing wait there too. Absent: those are acked at once, alone.
   */
  readonly acks?: PendingAcks;
}

/** Fetches and triages mail, one identity per job. */
export class Inbox {
  readonly #deps: InboxDeps;
  readonly #queue: Queue<JobPayloads['poll']>;
  #worker: Worker<JobPayloads['poll']> | undefined;
  /** Identities whose fetch is running here, and those woken meanwhile (to fetch once more). */
  readonly #fetching = new Set<string>();
  readonly #wokenMeanwhile = new Set<string>();
  /** Wake-ups waiting for their identity's next fetch to end (see {@link Inbox.wake}). */
  readonly #afterFetch = new Map<string, (() => void)[]>();
  /** Fetches begun here per identity: names wake-up jobs, so a burst queues one per fetch. */
  readonly #fetchesBegun = new Map<string, number>();

  constructor(deps: InboxDeps) {
    this.#deps = deps;
    this.#queue = openQueue(deps, 'poll');
  }

  start(concurrency: number): void {
    if (this.#worker !== undefined) return;
    this.#worker = startWorker(
      this.#deps,
      'poll',
      (job, _token, signal) => this.#process(job, signal),
      concurrency,
    );
  }

  /** Fetches an identity's mail now (besides its schedule). */
  async fetchNow(identity: string): Promise<void> {
    await this.#queue.add('poll', { identity }, POLL_JOB);
  }

  /**
   * Mail waits for an identity (the watcher said so): queues one fetch, named after the identity
   * and its count of fetches begun, so a burst of wake-ups queues one, while a wake-up after a
   * fetch began never folds into that job (it may still sit in Redis after its fetch ended). A
   * wake-up while its fetch runs is not lost: one more fetch follows that one.
   */
  async wake(identity: string): Promise<void> {
    // Resolves once the fetch this wake-up asked for has ended (or after a bound, should the job
    // be lost), so the watcher leaves this mailbox out of its waits only while its mail is fetched.
    const fetched = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, WAKE_FETCH_BOUND_MS);
      const waiting = this.#afterFetch.get(identity) ?? [];
      waiting.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#afterFetch.set(identity, waiting);
    });
    if (this.#fetching.has(identity)) {
      this.#wokenMeanwhile.add(identity);
    } else {
      const begun = this.#fetchesBegun.get(identity) ?? 0;
      await this.#queue.add('poll', { identity }, { ...POLL_JOB, jobId: `w_${identity}_${begun}` });
    }
    await fetched;
  }

  /**
   * Fetches an identity's mail every poll interval from now on; with a watcher, drops a schedule
   * an older version left instead.
   */
  async schedule(identity: string): Promise<void> {
    if (this.#deps.watched === true) {
      await this.unschedule(identity);
      return;
    }
    await this.#queue.upsertJobScheduler(
      `poll-${identity}`,
      { every: this.#deps.pollIntervalMs },
      { name: 'poll', data: { identity }, opts: POLL_JOB },
    );
  }

  async unschedule(identity: string): Promise<void> {
    await this.#queue.removeJobScheduler(`poll-${identity}`);
  }

  /** Ends every wake-up's wait for its fetch at once (shutting down: nobody needs it). */
  releaseWakeups(): void {
    for (const waiting of this.#afterFetch.values()) for (const done of waiting) done();
    this.#afterFetch.clear();
  }

  async close(): Promise<void> {
    this.releaseWakeups();
    await this.#worker?.close();
    await this.#queue.close();
  }

  async #process(job: Job<JobPayloads['poll']>, signal: AbortSignal | undefined): Promise<void> {
    const { identity } = decodeJob('poll', job.data);
    // One fetch per identity at a time (a schedule, a wake-up and a send may each queue one):
    // two at once would triage the same letters and tell the same admission twice.
    if (this.#fetching.has(identity)) {
      this.#wokenMeanwhile.add(identity);
      return;
    }
    this.#fetching.add(identity);
    this.#fetchesBegun.set(identity, (this.#fetchesBegun.get(identity) ?? 0) + 1);
    // Those woken before this fetch began are served by it; later ones wait for the next.
    const served = this.#afterFetch.get(identity) ?? [];
    this.#afterFetch.delete(identity);
    try {
      await this.#fetch(identity, signal);
    } finally {
      this.#fetching.delete(identity);
      for (const done of served) done();
      if (this.#wokenMeanwhile.delete(identity)) await this.fetchNow(identity);
    }
  }

  async #fetch(identity: string, signal: AbortSignal | undefined): Promise<void> {
    const session = this.#deps.sessions.get(identity);
    if (session === undefined) {
      await this.unschedule(identity);
      return;
    }
    if (session.local.ownReceipt() === undefined) return;
    const signer = signerOf(session);
    const { now } = this.#deps;
    await session.client.operatorInfo();
    session.local.pruneProcessed(now() - PROCESSED_LETTER_RETENTION_MS);
    const { acks } = this.#deps;
    // Deleted at the Operator before it reads, so this fetch never brings them back.
    const ride = acks?.take(identity);
    let batch;
    try {
      batch = await session.operator.fetch(signer, {
        limit: FETCH_LIMIT,
        ...(ride === undefined ? {} : { ack: ride.ids }),
      });
    } finally {
      ride?.settle(batch !== undefined);
    }
    // Deleted at the Operator: the ratchet's opened copies are not needed any more.
    if (ride !== undefined) session.client.forgetOpened(ride.ids);
    const ackNow: Uint8Array[] = [];
    for (const waiting of batch.letters) {
      if (signal?.aborted === true) break;
      if (await this.#triage(session, waiting)) ackNow.push(waiting.id);
    }
    if (acks !== undefined) acks.add(identity, ackNow);
    else if (ackNow.length > 0) {
      await session.operator.ack(signer, ackNow);
      session.client.forgetOpened(ackNow);
    }
    await this.#deps.notices.tellAdmissions(session);
    // Tokens refilled beside the fetch, not before a send; a failure is met again by the send.
    await session.client.topUpTokens().catch(() => undefined);
    // Prekeys checked at most hourly, so strangers can always start a session.
    await session.client.publishPrekeys().catch(() => undefined);
  }

  /**
   * Has the identity's client triage one fetched letter (verify, drop, apply a follow statement)
   * and records what is to be shown in the ledger, content included, so the delivery shows it
   * without opening it again.
   * @returns true when the Operator may forget it now; false when a delivery will acknowledge it,
   * or when it stays there for the next fetch (what failed may pass)
   */
  async #triage(session: Session, waiting: WaitingLetter): Promise<boolean> {
    let triaged: Triaged;
    try {
      triaged = await session.client.triage(waiting);
    } catch (error) {
      this.#deps.logger.warn('bridge.triage_failed', { code: codeOf(error) });
      return false;
    }
    const operatorId = toBase64url(waiting.id);
    if (triaged.sessionReset !== undefined) {
      const { name, lost } = triaged.sessionReset;
      // A courtesy, like a new follower's notice: not retried.
      await this.#deps.notices.tell(session, { kind: 'session-reset', name, lost });
    }
    switch (triaged.action) {
      case 'keep-letter': {
        const { letter, folder } = triaged.stored;
        const content = encodeLetterContent({
          from: letter.from,
          to: letter.to,
          sentAt: letter.sentAt,
          text: letter.body,
          firstContact: folder === 'request',
          senderKeyHolder: triaged.senderKeyHolder,
          post: letter.kind === 'post',
        });
        // In the ledger before the letter store: once stored, a second fetch finds it processed.
        const letterId = toBase64url(letter.id);
        const delivery = this.#deps.store.recordFetched(
          session.held.id,
          letter.from,
          letterId,
          operatorId,
          { collective: null, content },
        );
        session.local.saveLetters([triaged.stored]);
        return this.#queued(session, delivery);
      }
      case 'keep-collective': {
        const { message } = triaged;
        const delivery = this.#deps.store.recordFetched(
          session.held.id,
          message.from,
          message.id,
          operatorId,
          {
            collective: message.collective,
            content: encodeCollectiveContent({
              collective: message.collective,
              from: message.from,
              senderKeyHolder: message.fromKeyHolder,
              sentAt: message.sentAt,
              text: message.text,
              id: message.id,
            }),
          },
        );
        return this.#queued(session, delivery);
      }
      case 'follow':
        // Applied durably by triage; the notice is a courtesy and is not retried.
        if (triaged.outcome === 'added') {
          await this.#deps.notices.tell(session, { kind: 'new-follower', name: triaged.from });
        }
        return true;
      case 'drop':
        if (
          triaged.reason === 'duplicate' &&
          triaged.from !== undefined &&
          triaged.id !== undefined
        ) {
          // Fetched again after a crash: the ledger finishes the delivery it interrupted (or,
          // already shown, lets the Operator forget this copy).
          const delivery = this.#deps.store.recordFetched(
            session.held.id,
            triaged.from,
            triaged.id,
            operatorId,
          );
          return this.#queued(session, delivery);
        }
        if (triaged.reason === 'rejected') {
          this.#deps.logger.info('bridge.letter_rejected', {});
        }
        return true;
    }
  }

  /** Queues the showing of a pending delivery; @returns true when it was shown before. */
  async #queued(session: Session, delivery: Delivery): Promise<boolean> {
    if (delivery.state === 'delivered') return true;
    await this.#deps.deliver(session.held.id, delivery.id);
    return false;
  }
}
