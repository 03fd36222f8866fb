/**
 * The chaos test's people: Telegram users who `/send` through the bot (played on the Bot API
 * emulator), and CLI users — the same client code as `komrade` (KomradeClient over the HTTP
 * Operator client with the CLI's retry wrapper, SQLite local store), run in this process because a
 * process per letter is too slow to keep letters flowing.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { Agent } from 'undici';
import {
  HttpOperatorClient,
  KomradeClient,
  RetryingOperatorClient,
  SqliteLocalStore,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { ID_BYTES } from '../../common/wire/index.js';
import type { ChaosLetter } from './chaos-ledger.js';
import { tagsIn } from './chaos-ledger.js';
import type { EmulatedUser, TelegramEmulator } from './telegram-emulator.js';

/** Refusals no retry changes: the CLI user is told, and the letter is not sent. */
const PERMANENT = new Set([
  'NAME_UNKNOWN',
  'NAME_INVALID',
  'USAGE',
  'EMPTY_MESSAGE',
  'LETTER_TOO_LARGE',
  'KEY_INVALID',
  'NOT_REGISTERED',
]);

const sleep = (ms: number) =>
  new Promise<void>((r) => {
    setTimeout(r, ms);
  });

/** The text of a chaos letter: its tag makes every copy countable. */
export const letterText = (letter: ChaosLetter): string =>
  `chaos letter ${letter.tag} from @${letter.from}`;

/** A Telegram user of the bot. */
export class TelegramChaosUser {
  readonly name: string;
  readonly user: EmulatedUser;
  readonly #emulator: TelegramEmulator;
  /** Bot messages to this chat before the letters started (registration and the like). */
  #before = 0;

  constructor(name: string, user: EmulatedUser, emulator: TelegramEmulator) {
    this.name = name;
    this.user = user;
    this.#emulator = emulator;
  }

  /** Registers through the bot and waits for its confirmation. */
  async register(): Promise<void> {
    this.#emulator.userSends(this.user, `/register ${this.name}`);
    await this.#emulator.waitForBotMessage(
      this.user.id,
      new RegExp(`Registered as @${this.name}\\b`),
      60_000,
    );
    this.#before = this.#emulator.botMessages(this.user.id).length;
  }

  send(letter: ChaosLetter): void {
    this.#emulator.userSends(this.user, `/send @${letter.to} ${letterText(letter)}`);
  }

  /** The bot's messages here since the letters started. */
  #since() {
    return this.#emulator
      .botMessages(this.user.id)
      .slice(this.#before)
      .filter((m) => m.deleted !== true);
  }

  /** Each chaos letter's copies shown in this chat: when Telegram took each. */
  copies(into: Map<string, number[]>): void {
    for (const m of this.#since()) {
      if (!/(Letter|letter) from @/.test(m.text)) continue;
      for (const tag of tagsIn(m.text)) into.set(tag, [...(into.get(tag) ?? []), m.sentAt]);
    }
  }

  /** Answers to this user's `/send`s: how many said "on its way", and every other answer. */
  answers(): { queued: number; other: string[] } {
    let queued = 0;
    const other: string[] = [];
    for (const m of this.#since()) {
      if (/(Letter|letter) from @/.test(m.text)) continue;
      if (/on its way to @/.test(m.text)) queued++;
      else other.push(m.text.split('\n')[0] ?? '');
    }
    return { queued, other };
  }
}

/** A CLI user: the client core on its own store, reaching the Operator over loopback HTTP. */
export class CliChaosUser {
  readonly name: string;
  readonly client: KomradeClient;
  readonly #store: SqliteLocalStore;
  readonly #agent = new Agent();
  /** The letter id the current `send` must use: a retry resends the same letter, not a new one. */
  readonly #letterId = new AsyncLocalStorage<Uint8Array>();
  #closed = false;
  /** Failed inbox checks (the Operator down or frozen), for the summary. */
  inboxFailures = 0;

  constructor(name: string, dir: string, operatorUrl: string) {
    this.name = name;
    this.#store = new SqliteLocalStore(join(dir, `${name}.db`), { storageKey: randomBytes(32) });
    const http = new HttpOperatorClient({
      baseUrl: operatorUrl,
      dispatcher: this.#agent,
      now: Date.now,
      // A frozen Operator answers nothing: give up on the request soon and try again.
      timeoutMs: 3_000,
    });
    this.client = new KomradeClient({
      operator: new RetryingOperatorClient(http, { attempts: 2, baseMs: 200, maxMs: 400 }),
      store: this.#store,
      keys: generateIdentityKeys(),
      now: Date.now,
      keyHolder: 'self',
      random: (length) => {
        const id = this.#letterId.getStore();
        return id !== undefined && length === ID_BYTES ? id : randomBytes(length);
      },
    });
  }

  /**
   * Sends `letter`, trying again every half second until the Operator takes it (the same letter
   * id every time, so a try that did arrive is dropped by the recipient as a duplicate).
   */
  async send(letter: ChaosLetter, now: () => number): Promise<void> {
    const id = createHash('sha256').update(letter.tag).digest().subarray(0, ID_BYTES);
    while (!this.#closed) {
      letter.tries++;
      try {
        await this.#letterId.run(Uint8Array.from(id), () =>
          this.client.send(letter.to, letterText(letter)),
        );
        letter.acceptedAt = now();
        return;
      } catch (error) {
        if (isKomradeError(error) && PERMANENT.has(error.code)) {
          letter.refusal = error.code;
          return;
        }
        await sleep(500);
      }
    }
  }

  /** Checks the inbox again and again until closed (failures are counted, then retried). */
  async watch(intervalMs: number): Promise<void> {
    while (!this.#closed) {
      try {
        await this.client.checkInbox();
      } catch {
        this.inboxFailures++;
      }
      await sleep(intervalMs);
    }
  }

  /** Each chaos letter's stored copies (inbox and requests): when each was downloaded. */
  copies(into: Map<string, number[]>): void {
    const letters = [...this.client.inbox(), ...this.client.requests().flatMap((r) => r.letters)];
    for (const letter of letters) {
      for (const tag of tagsIn(letter.text)) {
        into.set(tag, [...(into.get(tag) ?? []), letter.receivedAt]);
      }
    }
  }

  /** Stops sending and watching; {@link CliChaosUser.close} then releases the store. */
  halt(): void {
    this.#closed = true;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#store.close();
    await this.#agent.destroy();
  }
}
