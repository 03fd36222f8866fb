/**
 * The Operator's side of collectives: creating them, appending to their logs one event at a time,
 * serving logs to members, and fanning messages out to every member.
 */
import {
  collectivePowBytes,
  decodeCollectiveEvent,
  namesIn,
  namesInSigned,
  type CollectiveEvent,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  CLOCK_SKEW_MS,
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  bytesEqual,
  checkProofOfWork,
  isCanonicalName,
  parseName,
  parseNewName,
} from '../../common/wire/index.js';
import type { OperatorConfig } from '../config/operator-config.js';
import { letterTime } from '../store/mailbox.js';
import type { OperatorStore } from '../store/operator-store.js';
import type { RegisteredKomrade } from '../store/registry.js';
import { KeyedMutex } from './keyed-mutex.js';
import { LruCache } from './log-cache.js';
import { VerifiedLog } from './verified-log.js';

const DAY_MS = 86_400_000;
/** The two lengths of a content-key envelope (a continuing session's, a first message's). */
const ENVELOPE_LENGTHS: readonly number[] = [
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES,
];

/** Events read from the store per query while replaying a log. */
const REPLAY_PAGE = 1_000;

/** What the service needs from the store. */
export type CollectiveServiceStore = Pick<
  OperatorStore,
  | 'lookup'
  | 'isCollective'
  | 'createCollective'
  | 'appendCollectiveEvent'
  | 'collectiveEvents'
  | 'depositShared'
  | 'durable'
>;

/** Options for {@link CollectiveService}. */
export interface CollectiveServiceOptions {
  readonly store: CollectiveServiceStore;
  /** Most verified logs kept in memory once idle. @defaultValue 1024 */
  readonly maxCachedLogs?: number;
  /**
   * Other Operators append to the same store (PostgreSQL): before each use, a log in memory reads
   * the events stored after it, so heads, rules and membership are never stale here.
   * @defaultValue false
   */
  readonly sharedStore?: boolean;
}

/** What each call needs from the request: its time and the Operator's settings. */
export interface CollectiveRequestContext {
  readonly now: number;
  readonly config: OperatorConfig;
}

/** Where a collective's log ends. */
export interface CollectiveHeadInfo {
  readonly collective: string;
  readonly length: number;
  readonly head: Uint8Array;
  readonly lastAt: number;
}

/** A page of a log and the registrations of every name its events mention. */
export interface CollectiveLogPageInfo {
  readonly collective: string;
  readonly from: number;
  readonly events: readonly SignedCollectiveEvent[];
  readonly length: number;
  readonly komrades: readonly RegisteredKomrade[];
}

/** A message to a collective: the body once, one key envelope per member. */
export interface CollectiveSendInput {
  readonly body: Uint8Array;
  readonly keys: readonly { readonly to: string; readonly sealed: Uint8Array }[];
}

/** What the Operator stored for a collective message. */
export interface CollectiveSent {
  readonly id: Uint8Array;
  readonly receivedAt: number;
  readonly recipients: number;
}

/**
 * Keeps each collective's verified log in memory (loaded on first use by replaying its events
 * through the rule engine, least recently used ones dropped past a bound) and runs every operation
 * on a collective one at a time, so of two appends on the same head exactly one wins. The store
 * stays the source of truth: a log that disagrees with it, or a write that did not become
 * durable, is dropped from memory and replayed on next use.
 *
 * Error codes: `BAD_REQUEST` (undecodable event, wrong route for the kind, the request's signer is
 * not the event's actor, duplicate recipient), `CLOCK_SKEW` (event `at` off the Operator's clock),
 * `NAME_INVALID` / `NAME_RESERVED` / `NAME_TAKEN` / `NAME_UNKNOWN`, `BAD_PROOF_OF_WORK`,
 * `COLLECTIVE_CONFLICT` (stale seq/prev, or membership changed), `COLLECTIVE_RULE` (the rules refuse
 * the event; the message names the rule), `NOT_MEMBER`, `LETTER_TOO_LARGE`, `MAILBOX_FULL`.
 */
export class CollectiveService {
  readonly #store: CollectiveServiceStore;
  readonly #mutex = new KeyedMutex();
  readonly #logs: LruCache<VerifiedLog>;
  readonly #shared: boolean;

  constructor(options: CollectiveServiceOptions) {
    this.#store = options.store;
    this.#shared = options.sharedStore ?? false;
    this.#logs = new LruCache(options.maxCachedLogs ?? 1_024, (name) => this.#mutex.isBusy(name));
  }

  /** Logs held in memory now (for tests and metrics). */
  get cachedLogs(): number {
    return this.#logs.size;
  }

  /**
   * Creates a collective from its genesis, signed by `signer` (one of its founders).
   * @returns the new log's head (one event)
   */
  async create(
    signer: RegisteredKomrade,
    genesis: SignedCollectiveEvent,
    pow: Uint8Array,
    context: CollectiveRequestContext,
  ): Promise<CollectiveHeadInfo> {
    const event = decode(genesis);
    if (event.kind !== 'genesis') {
      throw new KomradeError('BAD_REQUEST', 'A collective is created with a genesis event.');
    }
    checkActor(event, signer);
    checkClock(event, context.now);
    const name = parseNewName(event.collective);
    if (!name.ok) throw name.error;
    const bits = context.config.registration.powBits;
    if (!checkProofOfWork(collectivePowBytes(genesis.signed), pow, bits)) {
      throw new KomradeError(
        'BAD_PROOF_OF_WORK',
        `The proof of work does not reach ${bits} bits for this genesis.`,
      );
    }
    return this.#mutex.run(name.value, async () => {
      // Checked before the rules so a taken name is answered as such; the store re-checks.
      if (
        (await this.#store.isCollective(name.value)) ||
        (await this.#store.lookup(name.value)) !== undefined
      ) {
        throw new KomradeError('NAME_TAKEN', 'That name is already taken.');
      }
      const log = new VerifiedLog(name.value);
      log.learn(signer);
      await this.#learn(log, namesIn(event));
      refuseIfBroken(log, genesis);
      await this.#store.createCollective({ name: name.value, genesis, createdAt: context.now });
      await this.#store.durable();
      log.append(genesis);
      this.#logs.set(name.value, log);
      return headOf(log);
    });
  }

  /**
   * Appends the next event of a collective, signed by `signer` (its actor).
   * @returns the log's new head
   */
  async append(
    signer: RegisteredKomrade,
    signed: SignedCollectiveEvent,
    context: CollectiveRequestContext,
  ): Promise<CollectiveHeadInfo> {
    const event = decode(signed);
    if (event.kind === 'genesis') {
      throw new KomradeError(
        'BAD_REQUEST',
        'A genesis starts a new collective: send it to the create route.',
      );
    }
    checkActor(event, signer);
    checkClock(event, context.now);
    return this.#mutex.run(event.collective, async () => {
      const log = await this.#load(event.collective);
      if (event.seq !== log.length || !bytesEqual(event.prev, log.head)) {
        throw new KomradeError(
          'COLLECTIVE_CONFLICT',
          `The log moved on: it has ${log.length} events and this one does not extend its head. Refresh the log, redo the event on the new head and retry.`,
        );
      }
      log.learn(signer);
      await this.#learn(log, namesIn(event));
      refuseIfBroken(log, signed);
      try {
        await this.#store.appendCollectiveEvent(log.collective, event.seq, signed);
        await this.#store.durable();
      } catch (error) {
        // Memory and disk may disagree now: replay from the store next time.
        this.#logs.delete(log.collective);
        throw error;
      }
      log.append(signed);
      return headOf(log);
    });
  }

  /** Where a collective's log ends; any registered komrade may ask. */
  head(rawName: string): Promise<CollectiveHeadInfo> {
    const name = collectiveName(rawName);
    return this.#mutex.run(name, async () => headOf(await this.#load(name)));
  }

  /**
   * Up to `limit` events from `from` on, for a current member or pending candidate only, with
   * the registrations of every name those events mention.
   */
  log(
    signer: RegisteredKomrade,
    rawName: string,
    from: number,
    limit: number,
  ): Promise<CollectiveLogPageInfo> {
    const name = collectiveName(rawName);
    return this.#mutex.run(name, async () => {
      const log = await this.#load(name);
      if (!log.isMember(signer.name) && !log.isPending(signer.name)) {
        throw notMember('Only members and pending candidates may read a collective’s log.');
      }
      const events =
        from >= log.length ? [] : await this.#store.collectiveEvents(name, from, limit);
      const mentioned = new Set<string>();
      for (const signed of events) for (const n of namesIn(decode(signed))) mentioned.add(n);
      await this.#learn(log, mentioned);
      const komrades = [...mentioned]
        .map((n) => log.registration(n))
        .filter((k): k is RegisteredKomrade => k !== undefined);
      return { collective: name, from, events, length: log.length, komrades };
    });
  }

  /**
   * Stores a message for every current member but the sender: the body once, one key envelope
   * per member, atomically.
   */
  async send(
    signer: RegisteredKomrade,
    rawName: string,
    message: CollectiveSendInput,
    context: CollectiveRequestContext,
  ): Promise<CollectiveSent> {
    const name = collectiveName(rawName);
    const { mail } = context.config;
    if (message.body.length > mail.maxSealedLetterBytes) {
      throw new KomradeError(
        'LETTER_TOO_LARGE',
        `body: larger than ${mail.maxSealedLetterBytes} bytes.`,
      );
    }
    const named = new Set<string>();
    for (const [index, key] of message.keys.entries()) {
      if (!isCanonicalName(key.to)) {
        throw new KomradeError('NAME_INVALID', `keys.${index}.to: not a canonical name.`);
      }
      if (key.to === signer.name) {
        throw new KomradeError('BAD_REQUEST', `keys.${index}.to: the sender gets no copy.`);
      }
      if (named.has(key.to)) {
        throw new KomradeError('BAD_REQUEST', `keys.${index}.to: named twice.`);
      }
      // Every envelope has one of two lengths, so none says more (a client that did not pad
      // would tell the Operator more than which members it has no session with).
      if (!ENVELOPE_LENGTHS.includes(key.sealed.length)) {
        throw new KomradeError(
          'BAD_REQUEST',
          `keys.${index}.sealed: a key envelope is ${COLLECTIVE_KEY_ENVELOPE_BYTES} or ${COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES} bytes.`,
        );
      }
      named.add(key.to);
    }
    return this.#mutex.run(name, async () => {
      const log = await this.#load(name);
      if (!log.isMember(signer.name)) {
        throw notMember('Only members may send to a collective.');
      }
      const changed = (detail: string) =>
        new KomradeError(
          'COLLECTIVE_CONFLICT',
          `Membership changed: ${detail}. Refresh the log and retry with the current members.`,
        );
      for (const [index, key] of message.keys.entries()) {
        if (!log.isMember(key.to)) throw changed(`keys.${index}.to is not a current member`);
      }
      const others = log.state().members.length - 1;
      if (message.keys.length !== others) {
        throw changed(`${others - message.keys.length} current member(s) have no key`);
      }
      // The membership cannot change before this write: appends to this log wait their turn.
      // Stored and answered to the mailbox's 10-minute step, like every letter's time.
      const receivedAt = letterTime(context.now);
      const id = await this.#store.depositShared(
        { body: message.body, envelopes: message.keys },
        {
          receivedAt,
          expiresAt: receivedAt + mail.expireDays * DAY_MS,
          quota: mail.mailboxQuotaLetters,
        },
      );
      return { id, receivedAt, recipients: message.keys.length };
    });
  }

  /** The verified log of `name`, from memory or replayed from the store. Runs under its lock. */
  async #load(name: string): Promise<VerifiedLog> {
    const cached = this.#logs.get(name);
    if (cached !== undefined && !this.#shared) return cached;
    if (cached !== undefined) {
      // Another Operator's appends since: replay them onto the log in memory.
      if (await this.#catchUp(cached)) return cached;
      this.#logs.delete(name);
    }
    const log = new VerifiedLog(name);
    if (!(await this.#catchUp(log))) {
      // Not a KomradeError on purpose: a stored log that breaks its own rules is a 500.
      throw new Error('stored collective log fails verification');
    }
    if (log.length === 0) throw new KomradeError('NAME_UNKNOWN', 'No collective by that name.');
    this.#logs.set(name, log);
    return log;
  }

  /** Appends to `log` every stored event after its end; false when one does not verify. */
  async #catchUp(log: VerifiedLog): Promise<boolean> {
    for (let from = log.length; ; from += REPLAY_PAGE) {
      const page = await this.#store.collectiveEvents(log.collective, from, REPLAY_PAGE);
      await this.#learn(log, page.flatMap(namesInSigned));
      for (const signed of page) if (!log.append(signed).ok) return false;
      if (page.length < REPLAY_PAGE) return true;
    }
  }

  /** Fetches from the store the registrations of `names` that `log` does not know yet. */
  async #learn(log: VerifiedLog, names: Iterable<string>): Promise<void> {
    for (const name of log.unknown(names)) {
      const komrade = await this.#store.lookup(name);
      // An unregistered name stays unknown, and the rule engine refuses events that need it.
      if (komrade !== undefined) log.learn(komrade);
    }
  }
}

function decode(signed: SignedCollectiveEvent): CollectiveEvent {
  const decoded = decodeCollectiveEvent(signed.signed);
  if (!decoded.ok) {
    throw new KomradeError('BAD_REQUEST', decoded.error.message, { cause: decoded.error });
  }
  return decoded.value;
}

function checkActor(event: CollectiveEvent, signer: RegisteredKomrade): void {
  if (event.actor !== signer.name) {
    throw new KomradeError(
      'BAD_REQUEST',
      'The event’s actor must be the komrade who signs the request.',
    );
  }
}

function checkClock(event: CollectiveEvent, now: number): void {
  if (Math.abs(event.at - now) > CLOCK_SKEW_MS) {
    throw new KomradeError(
      'CLOCK_SKEW',
      `The event’s time is more than ${CLOCK_SKEW_MS / 60_000} minutes from the Operator's clock; check your clock.`,
    );
  }
}

/** Throws `COLLECTIVE_RULE` with the engine's message (event index and rule) if refused. */
function refuseIfBroken(log: VerifiedLog, signed: SignedCollectiveEvent): void {
  const checked = log.canAppend(signed);
  if (!checked.ok) {
    throw new KomradeError('COLLECTIVE_RULE', checked.error.message, { cause: checked.error });
  }
}

/** Folds a collective's name as typed (`@Portland` → `portland`). */
function collectiveName(raw: string): string {
  const parsed = parseName(raw);
  if (!parsed.ok) throw parsed.error;
  return parsed.value;
}

function notMember(message: string): KomradeError {
  return new KomradeError('NOT_MEMBER', message);
}

function headOf(log: VerifiedLog): CollectiveHeadInfo {
  return {
    collective: log.collective,
    length: log.length,
    head: log.head,
    lastAt: log.lastAt,
  };
}
