/**
 * The Operator's store on one SQLite file (better-sqlite3): WAL, secure delete, and an fsync of
 * the WAL off the event loop before any answer ({@link GroupCommit}).
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { randomBytes } from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  ID_BYTES,
  isKeyHolder,
  nameSkeleton,
  type KeyHolder,
  type KyberPrekey,
  type OneTimePrekey,
  type SignedPrekey,
} from '../../../common/wire/index.js';
import type { NewCollective, StoredCollectiveEvent } from '../collective-store.js';
import type { FeedPosition, StoredPost } from '../feed.js';
import {
  letterTime,
  type DepositOptions,
  type LetterToDeposit,
  type SharedLetterToDeposit,
  type StoredLetter,
} from '../mailbox.js';
import type { OperatorStore } from '../operator-store.js';
import type { HandoutLimit, PrekeyCounts, PrekeysToStore, TakenBundle } from '../prekey-store.js';
import type { LogHead, LogInclusions } from '../registry-log.js';
import type { RegisteredKomrade } from '../registry.js';
import type { SpentDeposit, TokenSpend } from '../token-ledger.js';
import { GroupCommit, scrubWal } from './group-commit.js';
import { migrate } from './migrations.js';
import { SqliteRegistryLog } from './sqlite-registry-log.js';

/** Options of {@link SqliteStore}; the Operator passes none. */
export interface SqliteStoreOptions {
  /**
   * False only in the bench, to measure what the log costs a registration: the store then keeps
   * rows the log lacks, so a store opened so must never serve an Operator. @defaultValue true
   */
  readonly appendToLog?: boolean;
}

interface KomradeRow {
  name: string;
  sign_key: Buffer;
  box_key: Buffer;
  key_holder: string;
  ratchet_key: Buffer | null;
  registered_at: number;
  sig: Buffer;
}
interface PrekeyRow {
  id: number;
  public_key: Buffer;
  signature: Buffer;
}
interface OneTimePrekeyRow {
  id: number;
  public_key: Buffer;
}
interface HandoutRow {
  hour: number;
  handed: number;
}
interface LetterRow {
  id: Buffer;
  sealed: Buffer;
  received_at: number;
  body: Buffer | null;
}
interface SpentRow {
  letter_hash: Buffer;
  letter: Buffer;
}
interface EventRow {
  signed: Buffer;
  sig: Buffer;
}
interface PostRow {
  id: Buffer;
  author: string;
  posted_at: number;
  expires_at: number;
  signed: Buffer;
  sig: Buffer;
}

const bytes = (buffer: Buffer): Uint8Array =>
  new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);

// The column's CHECK constraint admits only known holders; this guards against a hand-edited file.
const keyHolderOf = (value: string): KeyHolder => {
  if (!isKeyHolder(value)) throw new Error('komrades.key_holder holds an unknown value');
  return value;
};

const toPrekey = (row: PrekeyRow): SignedPrekey & KyberPrekey => ({
  id: row.id,
  publicKey: bytes(row.public_key),
  signature: bytes(row.signature),
});

const toKomrade = (row: KomradeRow): RegisteredKomrade => ({
  name: row.name,
  signKey: bytes(row.sign_key),
  boxKey: bytes(row.box_key),
  keyHolder: keyHolderOf(row.key_holder),
  ratchetKey: row.ratchet_key === null ? null : bytes(row.ratchet_key),
  registeredAt: row.registered_at,
  sig: bytes(row.sig),
});

/** A spent token's `letter` column for a bundle: it paid for no letter. */
const NO_LETTER = new Uint8Array(0);

const toPost = (row: PostRow): StoredPost => ({
  id: bytes(row.id),
  author: row.author,
  postedAt: row.posted_at,
  expiresAt: row.expires_at,
  signed: bytes(row.signed),
  sig: bytes(row.sig),
});

/**
 * Implements every store port on one SQLite database. All statements are prepared once. Every
 * method applies its change at once, in the open transaction of this event-loop turn
 * ({@link GroupCommit}); {@link SqliteStore.durable} resolves once that transaction is committed
 * and the WAL synced, so all requests of a turn share one fsync (off the event loop), and, if the
 * turn deleted letters, posts or bodies, once the WAL is scrubbed of them.
 */
export class SqliteStore implements OperatorStore {
  readonly #db: Database.Database;
  readonly #commit: GroupCommit;
  readonly #sql;
  readonly #log: SqliteRegistryLog;
  readonly #appendToLog: boolean;
  #closed = false;

  /**
   * Opens (creating if needed) the database at `file`, migrates it and scrubs its WAL, so no
   * deleted bytes a crash left behind survive this call.
   * @param file - path of the `.db` file; its folder is created with mode 0700
   */
  constructor(file: string, options: SqliteStoreOptions = {}) {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    const db = new Database(file);
    try {
      db.pragma('journal_mode = WAL');
      // COMMIT writes the WAL without fsync; GroupCommit syncs it on the thread pool before any
      // barrier resolves, and checkpoints still sync the WAL and the database (NORMAL, not OFF).
      db.pragma('synchronous = NORMAL');
      db.pragma('secure_delete = ON');
      // Statement journals (savepoints) hold pre-delete pages: keep them off disk entirely.
      db.pragma('temp_store = MEMORY');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      migrate(db);
      // A crash may have left acked letters' bytes in the WAL: scrub before anyone is served.
      if (!scrubWal(db)) {
        throw new Error(
          'Cannot scrub the database’s WAL: another process has the Operator database open.',
        );
      }
    } catch (error) {
      db.close();
      throw error;
    }
    this.#db = db;
    this.#commit = new GroupCommit(db);
    this.#log = new SqliteRegistryLog(db);
    this.#appendToLog = options.appendToLog ?? true;
    this.#sql = {
      komrade: db.prepare<[string], KomradeRow>(
        'SELECT name, sign_key, box_key, key_holder, ratchet_key, registered_at, sig FROM komrades WHERE name = ?',
      ),
      keyInUse: db.prepare<[Uint8Array, Uint8Array], { n: number }>(
        'SELECT 1 AS n FROM komrades WHERE sign_key = ? OR box_key = ? LIMIT 1',
      ),
      ratchetKeyInUse: db
        .prepare<[Uint8Array], number>('SELECT 1 FROM komrades WHERE ratchet_key = ? LIMIT 1')
        .pluck(),
      insertKomrade: db.prepare<
        [string, Uint8Array, Uint8Array, KeyHolder, Uint8Array | null, number, Uint8Array, string]
      >(
        `INSERT INTO komrades
           (name, sign_key, box_key, key_holder, ratchet_key, registered_at, sig, skeleton)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      setRatchetKey: db.prepare<[Uint8Array, Uint8Array, string]>(
        'UPDATE komrades SET ratchet_key = ?, sig = ? WHERE name = ? AND ratchet_key IS NULL',
      ),
      signedPrekey: db.prepare<[string], PrekeyRow>(
        'SELECT id, public_key, signature FROM signed_prekeys WHERE name = ?',
      ),
      kyberPrekey: db.prepare<[string], PrekeyRow>(
        'SELECT id, public_key, signature FROM kyber_prekeys WHERE name = ?',
      ),
      putSignedPrekey: db.prepare<[string, number, Uint8Array, Uint8Array]>(
        'INSERT OR REPLACE INTO signed_prekeys (name, id, public_key, signature) VALUES (?, ?, ?, ?)',
      ),
      putKyberPrekey: db.prepare<[string, number, Uint8Array, Uint8Array]>(
        'INSERT OR REPLACE INTO kyber_prekeys (name, id, public_key, signature) VALUES (?, ?, ?, ?)',
      ),
      oneTimeCount: db
        .prepare<[string], number>('SELECT COUNT(*) FROM one_time_prekeys WHERE name = ?')
        .pluck(),
      oneTimeHeld: db
        .prepare<[string, number], number>(
          'SELECT 1 FROM one_time_prekeys WHERE name = ? AND id = ?',
        )
        .pluck(),
      insertOneTime: db.prepare<[string, number, Uint8Array]>(
        'INSERT INTO one_time_prekeys (name, id, public_key) VALUES (?, ?, ?)',
      ),
      deleteOneTime: db.prepare<[string]>('DELETE FROM one_time_prekeys WHERE name = ?'),
      // The lowest id: the oldest batch goes first.
      takeOneTime: db.prepare<[string, string], OneTimePrekeyRow>(
        `DELETE FROM one_time_prekeys
         WHERE name = ? AND id = (SELECT min(id) FROM one_time_prekeys WHERE name = ?)
         RETURNING id, public_key`,
      ),
      handouts: db.prepare<[string], HandoutRow>(
        'SELECT hour, handed FROM prekey_handouts WHERE name = ?',
      ),
      putHandouts: db.prepare<[string, number, number]>(
        'INSERT OR REPLACE INTO prekey_handouts (name, hour, handed) VALUES (?, ?, ?)',
      ),
      sweepHandouts: db.prepare<[number]>('DELETE FROM prekey_handouts WHERE hour < ?'),
      // Komrades and collectives share one namespace, so a look-alike of either is taken.
      skeletonTaken: db
        .prepare<[string, string], number>(
          `SELECT 1 FROM komrades WHERE skeleton = ?
           UNION ALL SELECT 1 FROM collectives WHERE skeleton = ? LIMIT 1`,
        )
        .pluck(),
      isCollective: db
        .prepare<[string], number>('SELECT 1 FROM collectives WHERE name = ?')
        .pluck(),
      insertCollective: db.prepare<[string, number, string]>(
        'INSERT INTO collectives (name, created_at, skeleton) VALUES (?, ?, ?)',
      ),
      lastSeq: db
        .prepare<[string], number>(
          'SELECT seq FROM collective_events WHERE collective = ? ORDER BY seq DESC LIMIT 1',
        )
        .pluck(),
      insertEvent: db.prepare<[string, number, Uint8Array, Uint8Array]>(
        'INSERT INTO collective_events (collective, seq, signed, sig) VALUES (?, ?, ?, ?)',
      ),
      events: db.prepare<[string, number, number], EventRow>(
        'SELECT signed, sig FROM collective_events WHERE collective = ? AND seq >= ? ORDER BY seq LIMIT ?',
      ),
      countLetters: db
        .prepare<[string], number>('SELECT COUNT(*) FROM letters WHERE recipient = ?')
        .pluck(),
      insertLetter: db.prepare<[Uint8Array, string, Uint8Array, number, number]>(
        'INSERT INTO letters (id, recipient, sealed, received_at, expires_at) VALUES (?, ?, ?, ?, ?)',
      ),
      insertBody: db.prepare<[Uint8Array, Uint8Array, number]>(
        'INSERT INTO letter_bodies (id, sealed, expires_at) VALUES (?, ?, ?)',
      ),
      insertSharedLetter: db.prepare<[Uint8Array, string, Uint8Array, number, number, Uint8Array]>(
        'INSERT INTO letters (id, recipient, sealed, received_at, expires_at, body) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      fetchLetters: db.prepare<[string, number, number], LetterRow>(
        `SELECT l.id, l.sealed, l.received_at, b.sealed AS body
         FROM letters AS l LEFT JOIN letter_bodies AS b ON b.id = l.body
         WHERE l.recipient = ? AND l.expires_at > ? ORDER BY l.rowid LIMIT ?`,
      ),
      hasLetter: db
        .prepare<[string, number], number>(
          'SELECT 1 FROM letters WHERE recipient = ? AND expires_at > ? LIMIT 1',
        )
        .pluck(),
      deleteLetter: db.prepare<[Uint8Array, string], { body: Buffer | null }>(
        'DELETE FROM letters WHERE id = ? AND recipient = ? RETURNING body',
      ),
      // Only once no letter refers to it any more: the last recipient's ack takes the body along.
      deleteBodyIfUnreferenced: db.prepare<[Uint8Array, Uint8Array]>(
        'DELETE FROM letter_bodies WHERE id = ? AND NOT EXISTS (SELECT 1 FROM letters WHERE body = ?)',
      ),
      sweepLetters: db.prepare<[number]>('DELETE FROM letters WHERE expires_at <= ?'),
      sweepBodies: db.prepare(
        'DELETE FROM letter_bodies WHERE NOT EXISTS (SELECT 1 FROM letters WHERE letters.body = letter_bodies.id)',
      ),
      postExists: db.prepare<[Uint8Array], number>('SELECT 1 FROM posts WHERE id = ?').pluck(),
      insertPost: db.prepare<[Uint8Array, string, number, number, Uint8Array, Uint8Array]>(
        'INSERT INTO posts (id, author, posted_at, expires_at, signed, sig) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      newestPosts: db.prepare<[number, number], PostRow>(
        'SELECT id, author, posted_at, expires_at, signed, sig FROM posts WHERE expires_at > ? ORDER BY posted_at DESC, id DESC LIMIT ?',
      ),
      postsBefore: db.prepare<[number, number, Uint8Array, number], PostRow>(
        'SELECT id, author, posted_at, expires_at, signed, sig FROM posts WHERE expires_at > ? AND (posted_at, id) < (?, ?) ORDER BY posted_at DESC, id DESC LIMIT ?',
      ),
      sweepPosts: db.prepare<[number]>('DELETE FROM posts WHERE expires_at <= ?'),
      insertNonce: db.prepare<[string, Uint8Array, number]>(
        'INSERT OR IGNORE INTO nonces (name, nonce, keep_until) VALUES (?, ?, ?)',
      ),
      sweepNonces: db.prepare<[number]>('DELETE FROM nonces WHERE keep_until <= ?'),
      tokensIssued: db
        .prepare<[string, number], number>(
          'SELECT issued FROM token_allowances WHERE name = ? AND epoch = ?',
        )
        .pluck(),
      recordIssued: db.prepare<[string, number, number]>(
        `INSERT INTO token_allowances (name, epoch, issued) VALUES (?, ?, ?)
         ON CONFLICT (name, epoch) DO UPDATE SET issued = excluded.issued`,
      ),
      spent: db.prepare<[number, Uint8Array], SpentRow>(
        'SELECT letter_hash, letter FROM spent_tokens WHERE epoch = ? AND input_hash = ?',
      ),
      insertSpent: db.prepare<[number, Uint8Array, Uint8Array, Uint8Array]>(
        'INSERT INTO spent_tokens (epoch, input_hash, letter_hash, letter) VALUES (?, ?, ?, ?)',
      ),
      letterTime: db
        .prepare<[Uint8Array], number>('SELECT received_at FROM letters WHERE id = ?')
        .pluck(),
      sweepSpent: db.prepare<[number]>('DELETE FROM spent_tokens WHERE epoch < ?'),
      sweepAllowances: db.prepare<[number]>('DELETE FROM token_allowances WHERE epoch < ?'),
    };
  }

  // Reads may see this turn's uncommitted writes: callers answer only after durable().
  // eslint-disable-next-line @typescript-eslint/require-await -- async turns throws into rejections
  async #read<T>(query: () => T): Promise<T> {
    this.#assertOpen();
    return query();
  }

  // eslint-disable-next-line @typescript-eslint/require-await -- async turns throws into rejections
  async #write<T>(step: () => T, scrub = false): Promise<T> {
    this.#assertOpen();
    return this.#commit.write(step, scrub);
  }

  durable(): Promise<void> {
    return this.#commit.barrier();
  }

  /** Resolves once stale WAL copies of deleted rows are overwritten (tests, shutdown). */
  scrubbed(): Promise<void> {
    return this.#commit.scrubbed();
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error('store is closed');
  }

  register(komrade: RegisteredKomrade): Promise<void> {
    return this.#write(() => {
      if (this.#sql.komrade.get(komrade.name) !== undefined) {
        throw new KomradeError('NAME_TAKEN', 'That name is already registered.');
      }
      if (this.#sql.isCollective.get(komrade.name) !== undefined) {
        throw new KomradeError('NAME_TAKEN', 'That name is taken by a collective.');
      }
      const skeleton = nameSkeleton(komrade.name);
      this.#assertSkeletonFree(skeleton);
      if (
        this.#sql.keyInUse.get(komrade.signKey, komrade.boxKey) !== undefined ||
        (komrade.ratchetKey !== null &&
          this.#sql.ratchetKeyInUse.get(komrade.ratchetKey) !== undefined)
      ) {
        throw new KomradeError(
          'BAD_REQUEST',
          'These keys are already registered under another name; generate new keys.',
        );
      }
      this.#sql.insertKomrade.run(
        komrade.name,
        komrade.signKey,
        komrade.boxKey,
        komrade.keyHolder,
        komrade.ratchetKey,
        komrade.registeredAt,
        komrade.sig,
        skeleton,
      );
      // Same transaction (savepoint) as the row: a refused registration appends nothing.
      if (this.#appendToLog) this.#log.append(komrade);
    });
  }

  /** Throws `NAME_TAKEN` when a komrade or collective name looks like `skeleton`'s, naming none. */
  #assertSkeletonFree(skeleton: string): void {
    if (this.#sql.skeletonTaken.get(skeleton, skeleton) !== undefined) {
      throw new KomradeError(
        'NAME_TAKEN',
        'That name looks like an existing or reserved name; choose another.',
      );
    }
  }

  lookup(name: string): Promise<RegisteredKomrade | undefined> {
    return this.#read(() => {
      const row = this.#sql.komrade.get(name);
      return row === undefined ? undefined : toKomrade(row);
    });
  }

  setRatchetKey(name: string, ratchetKey: Uint8Array, sig: Uint8Array): Promise<RegisteredKomrade> {
    return this.#write(() => {
      const row = this.#sql.komrade.get(name);
      if (row === undefined) throw new KomradeError('NAME_UNKNOWN', 'No komrade by that name.');
      if (row.ratchet_key !== null) {
        if (Buffer.from(ratchetKey).equals(row.ratchet_key)) return toKomrade(row);
        throw new KomradeError(
          'RATCHET_KEY_SET',
          `@${name} has a ratchet key already; it never changes.`,
        );
      }
      if (this.#sql.ratchetKeyInUse.get(ratchetKey) !== undefined) {
        throw new KomradeError(
          'BAD_REQUEST',
          'This ratchet key is already registered under another name.',
        );
      }
      this.#sql.setRatchetKey.run(ratchetKey, sig, name);
      const updated = this.#sql.komrade.get(name);
      if (updated === undefined) throw new Error('the komrade vanished while being updated');
      const stored = toKomrade(updated);
      // The new receipt is a new leaf; the idempotent repeat above appended nothing.
      if (this.#appendToLog) this.#log.append(stored);
      return stored;
    });
  }

  logHead(): Promise<LogHead> {
    return this.#read(() => this.#log.head());
  }

  logInclusions(names: readonly string[]): Promise<LogInclusions> {
    return this.#read(() => this.#log.inclusions(names));
  }

  logInclusionAt(index: number, size: number): Promise<Uint8Array[]> {
    return this.#read(() => this.#log.inclusionAt(index, size));
  }

  logConsistency(from: number, to: number): Promise<Uint8Array[]> {
    return this.#read(() => this.#log.consistency(from, to));
  }

  logEntries(start: number, end: number): Promise<RegisteredKomrade[]> {
    return this.#read(() => this.#log.entries(start, end));
  }

  storePrekeys(name: string, upload: PrekeysToStore, maxOneTime: number): Promise<PrekeyCounts> {
    return this.#write(
      () => {
        if (this.#sql.komrade.get(name) === undefined) {
          throw new KomradeError('NAME_UNKNOWN', 'No komrade by that name.');
        }
        const oneTime = upload.oneTimePrekeys ?? [];
        const replace = upload.replaceOneTime === true;
        // Rolled back with the rest if the upload is refused below.
        if (replace) this.#sql.deleteOneTime.run(name);
        const ids = new Set<number>();
        for (const key of oneTime) {
          if (ids.has(key.id) || this.#sql.oneTimeHeld.get(name, key.id) !== undefined) {
            throw new KomradeError(
              'PREKEY_ID_USED',
              `One-time prekey ${key.id} is held already (or twice in this upload); use new ids.`,
            );
          }
          ids.add(key.id);
        }
        const held = this.#sql.oneTimeCount.get(name) ?? 0;
        if (held + oneTime.length > maxOneTime) {
          throw new KomradeError(
            'PREKEYS_FULL',
            `The Operator keeps at most ${maxOneTime} one-time prekeys per name; ${held} are held.`,
          );
        }
        const { signedPrekey, kyberPrekey } = upload;
        if (signedPrekey !== undefined) {
          const { id, publicKey, signature } = signedPrekey;
          this.#sql.putSignedPrekey.run(name, id, publicKey, signature);
        }
        if (kyberPrekey !== undefined) {
          const { id, publicKey, signature } = kyberPrekey;
          this.#sql.putKyberPrekey.run(name, id, publicKey, signature);
        }
        for (const key of oneTime) this.#sql.insertOneTime.run(name, key.id, key.publicKey);
        return {
          oneTimeLeft: held + oneTime.length,
          signedPrekey: this.#sql.signedPrekey.get(name) !== undefined,
          kyberPrekey: this.#sql.kyberPrekey.get(name) !== undefined,
        };
        // A replaced prekey's row is overwritten: scrub the WAL of it as of a delete.
      },
      upload.signedPrekey !== undefined ||
        upload.kyberPrekey !== undefined ||
        upload.replaceOneTime === true,
    );
  }

  takeBundle(spend: TokenSpend, name: string, limit: HandoutLimit): Promise<TakenBundle> {
    return this.#write(() => {
      const signed = this.#sql.signedPrekey.get(name);
      const kyber = this.#sql.kyberPrekey.get(name);
      if (signed === undefined || kyber === undefined) {
        throw new KomradeError('PREKEYS_MISSING', `@${name} has not published prekeys yet.`);
      }
      const bundle = { signedPrekey: toPrekey(signed), kyberPrekey: toPrekey(kyber) };
      const spent = this.#sql.spent.get(spend.epoch, spend.inputHash);
      if (spent !== undefined) {
        if (!Buffer.from(spend.letterHash).equals(spent.letter_hash)) {
          throw new KomradeError(
            'TOKEN_SPENT',
            'This token was already spent on something else; take a fresh one.',
          );
        }
        // A retry: its one-time prekey went with the first answer, and none goes again.
        return { ...bundle, repeated: true };
      }
      this.#sql.insertSpent.run(spend.epoch, spend.inputHash, spend.letterHash, NO_LETTER);
      const counted = this.#sql.handouts.get(name);
      const handed = counted !== undefined && counted.hour === limit.hour ? counted.handed : 0;
      if (handed >= limit.perHour) return { ...bundle, repeated: false };
      const taken = this.#sql.takeOneTime.get(name, name);
      if (taken === undefined) return { ...bundle, repeated: false };
      this.#sql.putHandouts.run(name, limit.hour, handed + 1);
      const oneTimePrekey: OneTimePrekey = { id: taken.id, publicKey: bytes(taken.public_key) };
      return { ...bundle, oneTimePrekey, repeated: false };
    }, true);
  }

  sweepPrekeyHandouts(hour: number): Promise<number> {
    return this.#write(() => this.#sql.sweepHandouts.run(hour).changes);
  }

  /** Throws `MAILBOX_FULL` when adding `letters` would put a recipient over `quota`. */
  #checkQuota(letters: readonly LetterToDeposit[], quota: number): void {
    const perRecipient = new Map<string, number>();
    for (const letter of letters) {
      perRecipient.set(letter.to, (perRecipient.get(letter.to) ?? 0) + 1);
    }
    for (const [recipient, added] of perRecipient) {
      const held = this.#sql.countLetters.get(recipient) ?? 0;
      if (held + added > quota) {
        throw new KomradeError(
          'MAILBOX_FULL',
          'A recipient’s mailbox is full; try again after they fetch their letters.',
        );
      }
    }
  }

  deposit(letters: readonly LetterToDeposit[], options: DepositOptions): Promise<Uint8Array[]> {
    return this.#write(() => {
      this.#checkQuota(letters, options.quota);
      return letters.map((letter) => {
        const id = randomBytes(ID_BYTES);
        this.#sql.insertLetter.run(
          id,
          letter.to,
          letter.sealed,
          letterTime(options.receivedAt),
          options.expiresAt,
        );
        return id;
      });
    });
  }

  depositShared(letter: SharedLetterToDeposit, options: DepositOptions): Promise<Uint8Array> {
    return this.#write(() => {
      this.#checkQuota(letter.envelopes, options.quota);
      const body = randomBytes(ID_BYTES);
      this.#sql.insertBody.run(body, letter.body, options.expiresAt);
      for (const envelope of letter.envelopes) {
        this.#sql.insertSharedLetter.run(
          randomBytes(ID_BYTES),
          envelope.to,
          envelope.sealed,
          letterTime(options.receivedAt),
          options.expiresAt,
          body,
        );
      }
      return body;
    });
  }

  fetch(
    recipient: string,
    limit: number,
    now: number,
  ): Promise<{ letters: StoredLetter[]; more: boolean }> {
    return this.#read(() => {
      const rows = this.#sql.fetchLetters.all(recipient, now, limit + 1);
      const more = rows.length > limit;
      const letters = rows.slice(0, limit).map((row): StoredLetter => ({
        id: bytes(row.id),
        sealed: bytes(row.sealed),
        receivedAt: row.received_at,
        ...(row.body === null ? {} : { body: bytes(row.body) }),
      }));
      return { letters, more };
    });
  }

  hasMail(recipients: readonly string[], now: number): Promise<string[]> {
    return this.#read(() =>
      recipients.filter((recipient) => this.#sql.hasLetter.get(recipient, now) !== undefined),
    );
  }

  ack(recipient: string, ids: readonly Uint8Array[]): Promise<number> {
    return this.#write(() => {
      let deleted = 0;
      const bodies: Uint8Array[] = [];
      for (const id of ids) {
        const row = this.#sql.deleteLetter.get(id, recipient);
        if (row === undefined) continue;
        deleted++;
        if (row.body !== null) bodies.push(row.body);
      }
      for (const body of bodies) this.#sql.deleteBodyIfUnreferenced.run(body, body);
      return deleted;
    }, true);
  }

  sweepExpiredLetters(now: number): Promise<number> {
    return this.#write(() => {
      const deleted = this.#sql.sweepLetters.run(now).changes;
      if (deleted > 0) this.#sql.sweepBodies.run();
      return deleted;
    }, true);
  }

  createCollective(collective: NewCollective): Promise<void> {
    return this.#write(() => {
      if (this.#sql.komrade.get(collective.name) !== undefined) {
        throw new KomradeError('NAME_TAKEN', 'That name is taken by a komrade.');
      }
      if (this.#sql.isCollective.get(collective.name) !== undefined) {
        throw new KomradeError('NAME_TAKEN', 'That name is taken by another collective.');
      }
      const skeleton = nameSkeleton(collective.name);
      this.#assertSkeletonFree(skeleton);
      this.#sql.insertCollective.run(collective.name, collective.createdAt, skeleton);
      this.#sql.insertEvent.run(
        collective.name,
        0,
        collective.genesis.signed,
        collective.genesis.sig,
      );
    });
  }

  isCollective(name: string): Promise<boolean> {
    return this.#read(() => this.#sql.isCollective.get(name) !== undefined);
  }

  appendCollectiveEvent(
    collective: string,
    seq: number,
    event: StoredCollectiveEvent,
  ): Promise<void> {
    return this.#write(() => {
      if (this.#sql.isCollective.get(collective) === undefined) {
        throw new KomradeError('NAME_UNKNOWN', 'No collective by that name.');
      }
      const length = (this.#sql.lastSeq.get(collective) ?? -1) + 1;
      if (seq !== length) {
        throw new KomradeError(
          'COLLECTIVE_CONFLICT',
          `The log has ${length} events, so the next one is number ${length}, not ${seq}.`,
        );
      }
      this.#sql.insertEvent.run(collective, seq, event.signed, event.sig);
    });
  }

  collectiveEvents(
    collective: string,
    from: number,
    limit: number,
  ): Promise<StoredCollectiveEvent[]> {
    return this.#read(() =>
      this.#sql.events
        .all(collective, from, limit)
        .map((row) => ({ signed: bytes(row.signed), sig: bytes(row.sig) })),
    );
  }

  publish(post: StoredPost): Promise<void> {
    return this.#write(() => {
      if (this.#sql.postExists.get(post.id) !== undefined) {
        throw new KomradeError('POST_INVALID', 'A post with this id already exists.');
      }
      this.#sql.insertPost.run(
        post.id,
        post.author,
        post.postedAt,
        post.expiresAt,
        post.signed,
        post.sig,
      );
    });
  }

  page(
    now: number,
    before: FeedPosition | undefined,
    limit: number,
  ): Promise<{ posts: StoredPost[]; more: boolean }> {
    return this.#read(() => {
      const rows =
        before === undefined
          ? this.#sql.newestPosts.all(now, limit + 1)
          : this.#sql.postsBefore.all(now, before.postedAt, before.id, limit + 1);
      return { posts: rows.slice(0, limit).map(toPost), more: rows.length > limit };
    });
  }

  sweepExpiredPosts(now: number): Promise<number> {
    return this.#write(() => this.#sql.sweepPosts.run(now).changes, true);
  }

  remember(name: string, nonce: Uint8Array, keepUntil: number): Promise<boolean> {
    return this.#write(() => this.#sql.insertNonce.run(name, nonce, keepUntil).changes === 1);
  }

  sweepExpiredNonces(now: number): Promise<number> {
    return this.#write(() => this.#sql.sweepNonces.run(now).changes);
  }

  tokensIssued(name: string, epoch: number): Promise<number> {
    return this.#read(() => this.#sql.tokensIssued.get(name, epoch) ?? 0);
  }

  recordIssued(
    name: string,
    epoch: number,
    count: number,
    allowance: number,
  ): Promise<number | undefined> {
    return this.#write(() => {
      const issued = (this.#sql.tokensIssued.get(name, epoch) ?? 0) + count;
      if (issued > allowance) return undefined;
      this.#sql.recordIssued.run(name, epoch, issued);
      return allowance - issued;
    });
  }

  spendAndDeposit(
    spend: TokenSpend,
    letter: LetterToDeposit,
    options: DepositOptions,
  ): Promise<SpentDeposit> {
    return this.#write(() => {
      const receivedAt = letterTime(options.receivedAt);
      const spent = this.#sql.spent.get(spend.epoch, spend.inputHash);
      if (spent !== undefined) {
        if (!Buffer.from(spend.letterHash).equals(spent.letter_hash)) {
          throw new KomradeError(
            'TOKEN_SPENT',
            'This token was already spent on another letter; take a fresh one.',
          );
        }
        // An identical retry: the letter is there (or was, until its recipient acked it).
        const stored = this.#sql.letterTime.get(spent.letter);
        return { id: bytes(spent.letter), receivedAt: stored ?? receivedAt, repeated: true };
      }
      this.#checkQuota([letter], options.quota);
      const id = randomBytes(ID_BYTES);
      this.#sql.insertLetter.run(id, letter.to, letter.sealed, receivedAt, options.expiresAt);
      this.#sql.insertSpent.run(spend.epoch, spend.inputHash, spend.letterHash, id);
      return { id, receivedAt, repeated: false };
    });
  }

  sweepTokenEpochs(
    oldestAccepted: number,
    current: number,
  ): Promise<{ spent: number; allowances: number }> {
    return this.#write(
      () => ({
        spent: this.#sql.sweepSpent.run(oldestAccepted).changes,
        allowances: this.#sql.sweepAllowances.run(current).changes,
      }),
      true,
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      await this.#commit.flush();
    } finally {
      this.#db.close();
    }
  }
}
