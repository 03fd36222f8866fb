/**
 * Delivery: shows each letter or collective message the ledger holds as fetched in its chat, marks
 * it shown, and only then acknowledges it at the Operator, so none is lost and none is shown twice.
 */
import type { Job, Queue, Worker } from 'bullmq';
import { isKomradeError } from '../../common/errors/index.js';
import { randomBytes } from '../../common/crypto/index.js';
import { fromBase64url, toBase64url } from '../../common/wire/index.js';
import type { KeyHolder } from '../../common/wire/index.js';
import type { ChatSurface, LetterForChat } from '../chat-surface/chat-surface.js';
import type { BridgeStore, Delivery } from '../identity-vault/bridge-store.js';
import { decodeJob, type JobPayloads } from '../queue/jobs.js';
import { decodeCollectiveContent, decodeLetterContent } from './collective-content.js';
import { codeOf } from './job-failures.js';
import type { PendingAcks } from './pending-acks.js';
import { openQueue, startWorker, type QueueContext } from './queue-context.js';
import { signerOf, type Session, type Sessions } from './sessions.js';

/** What {@link Deliveries} needs. */
export interface DeliveriesDeps extends QueueContext {
  readonly store: BridgeStore;
  readonly sessions: Sessions;
  readonly surface: ChatSurface;
  /**
   * Where a shown letter's ids wait for the identity's next fetch to ride on (see
   * {@link PendingAcks}). Absent: acked at once, alone.
   */
  readonly acks?: PendingAcks;
}

/** Shows fetched mail, then acknowledges it. */
export class Deliveries {
  readonly #deps: DeliveriesDeps;
  readonly #queue: Queue<JobPayloads['deliver']>;
  #worker: Worker<JobPayloads['deliver']> | undefined;
  /**
   * Names this run's delivery jobs. A job left "active" by a crashed run stays locked in Redis
   * until BullMQ's stall check frees it; a new id lets this run deliver at once, and the ledger
   * (plus {@link Deliveries.#inFlight}) makes the stale job a no-op when it runs later.
   */
  readonly #runId = toBase64url(randomBytes(6));
  readonly #inFlight = new Set<string>();

  constructor(deps: DeliveriesDeps) {
    this.#deps = deps;
    this.#queue = openQueue(deps, 'deliver');
  }

  start(concurrency: number): void {
    if (this.#worker !== undefined) return;
    this.#worker = startWorker(
      this.#deps,
      'deliver',
      (job, _token, signal) => this.#process(job, signal),
      concurrency,
    );
  }

  /** Queues the showing of a recorded delivery. */
  async enqueue(identity: string, delivery: string): Promise<void> {
    await this.#queue.add(
      'deliver',
      { identity, delivery },
      {
        jobId: `d_${delivery}_${this.#runId}`,
        attempts: 20,
        backoff: { type: 'custom' },
        removeOnComplete: true,
        removeOnFail: true,
      },
    );
  }

  /** Queues again what the ledger holds as fetched but not shown (after a crash, or lost Redis). */
  async requeuePending(): Promise<void> {
    for (const delivery of this.#deps.store.pendingDeliveries()) {
      await this.enqueue(delivery.identity, delivery.id);
    }
  }

  async close(): Promise<void> {
    await this.#worker?.close();
    await this.#queue.close();
  }

  async #process(job: Job<JobPayloads['deliver']>, signal: AbortSignal | undefined): Promise<void> {
    const { identity, delivery: deliveryId } = decodeJob('deliver', job.data);
    const session = this.#deps.sessions.get(identity);
    const delivery = this.#deps.store.delivery(deliveryId);
    if (session === undefined || delivery === undefined) return;
    // One adapter process per queue prefix: within it, never show one letter from two jobs at once.
    if (this.#inFlight.has(deliveryId)) throw new Error('BUSY');
    this.#inFlight.add(deliveryId);
    try {
      await this.#deliver(session, delivery, job, signal);
    } finally {
      this.#inFlight.delete(deliveryId);
    }
  }

  async #deliver(
    session: Session,
    delivery: Delivery,
    job: Job<JobPayloads['deliver']>,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { store } = this.#deps;
    if (delivery.state === 'pending') {
      if (signal?.aborted === true) throw new Error('ABORTED');
      const ref =
        delivery.collective === null
          ? await this.#showLetter(session, delivery)
          : await this.#showCollectiveMessage(session, delivery);
      const shownAt = performance.now();
      // Shown (or gone meanwhile, e.g. deleted by a block): never show it again. A crash between
      // the platform's answer and this write shows it again after the restart: `windowMs` says
      // how long that window was open.
      store.markDelivered(delivery.id, ref);
      this.#deps.logger.debug('bridge.delivered', {
        job: job.id,
        windowMs: Math.round((performance.now() - shownAt) * 1000) / 1000,
      });
    }
    const ids = store.delivery(delivery.id)?.operatorIds ?? [];
    if (ids.length === 0) return;
    const bytes = ids.map((o) => fromBase64url(o)).filter((b) => b !== undefined);
    // Shown and marked so above: only now may the Operator forget it. Until it has, the ledger
    // keeps the ids (a crash meanwhile fetches the letter again, finds it shown, and acks it).
    const { acks } = this.#deps;
    if (acks !== undefined) {
      acks.add(session.held.id, bytes, () => {
        store.markAcked(delivery.id, ids);
      });
      return;
    }
    await session.operator.ack(signerOf(session), bytes);
    store.markAcked(delivery.id, ids);
  }

  /**
   * Shows a letter as the ledger keeps it since it was fetched (no second opening, no second
   * lookup); `null` when its sender was blocked meanwhile or its content is damaged.
   */
  async #showLetter(session: Session, delivery: Delivery): Promise<string | null> {
    const content = this.#deps.store.deliveryContent(delivery.id);
    let letter: LetterForChat | undefined;
    try {
      letter =
        content === undefined
          ? await this.#storedLetter(session, delivery)
          : decodeLetterContent(content);
    } catch (error) {
      if (!isKomradeError(error, 'DECODE_FAILED')) throw error;
      // Retrying cannot repair it; showing nothing beats blocking the ledger forever.
      this.#deps.logger.warn('bridge.letter_undecodable', { code: codeOf(error) });
      return null;
    }
    if (letter === undefined) return null;
    const state = session.local.contactState(letter.from);
    if (state === 'blocked') return null;
    // Accepted between fetching and showing: no longer a first contact.
    const shown = { ...letter, firstContact: letter.firstContact && state !== 'accepted' };
    return this.#deps.surface.deliverLetter(session.held.chat, shown, delivery.id);
  }

  /**
   * A letter fetched by a version whose ledger kept no letter content, read back from the
   * identity's letter store; `undefined` when it is no longer stored.
   */
  async #storedLetter(session: Session, delivery: Delivery): Promise<LetterForChat | undefined> {
    const stored = [
      ...session.local.letters('inbox', delivery.sender),
      ...session.local.letters('request', delivery.sender),
    ].find((s) => toBase64url(s.letter.id) === delivery.letterId);
    if (stored === undefined) return undefined;
    const { letter } = stored;
    return {
      from: letter.from,
      to: letter.to,
      sentAt: letter.sentAt,
      text: letter.body,
      firstContact: stored.folder === 'request',
      senderKeyHolder: await this.#keyHolderOf(session, letter.from),
      post: letter.kind === 'post',
    };
  }

  /**
   * Who holds a sender's keys, from their receipt: cached when the letter was verified, else
   * looked up again (and checked against the pinned Operator key). `null` if they vanished.
   */
  async #keyHolderOf(session: Session, name: string): Promise<KeyHolder | null> {
    const cached = session.local.cachedReceipt(name);
    if (cached !== undefined) return cached.keyHolder;
    try {
      return (await session.client.lookup(name)).keyHolder;
    } catch (error) {
      if (isKomradeError(error, 'NAME_UNKNOWN')) return null;
      throw error;
    }
  }

  /** Shows a collective message kept in the ledger; `null` when its content is gone or damaged. */
  async #showCollectiveMessage(session: Session, delivery: Delivery): Promise<string | null> {
    const content = this.#deps.store.deliveryContent(delivery.id);
    if (content === undefined) return null;
    let message;
    try {
      message = decodeCollectiveContent(content);
    } catch (error) {
      // Retrying cannot repair it; showing nothing beats blocking the ledger forever.
      this.#deps.logger.warn('bridge.collective_undecodable', { code: codeOf(error) });
      return null;
    }
    if (session.local.contactState(message.from) === 'blocked') return null;
    return this.#deps.surface.deliverCollectiveMessage(session.held.chat, message, delivery.id);
  }
}
