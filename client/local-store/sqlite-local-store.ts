/**
 * `SqliteLocalStore`: the local store in one SQLite file (WAL, secure_delete, synchronous=FULL),
 * with received letters encrypted at rest under the keystore's storage key.
 */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';
import { z } from 'zod';
import {
  checkCollectiveMessage,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import { AEAD_KEY_BYTES, aeadDecrypt, aeadEncrypt } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  LETTER_KINDS,
  base64urlBytes,
  bytesEqual,
  decodeCanonical,
  encodeCanonical,
  fromBase64url,
  isCanonicalName,
  isKeyHolder,
  toBase64url,
  type Letter,
  type Receipt,
  type Token,
} from '../../common/wire/index.js';
import type {
  Contact,
  ContactState,
  FollowOutcome,
  FollowStatement,
  LetterFolder,
  LocalStore,
  PinnedOperator,
  SocksAddress,
  StoredCollectiveMessage,
  StoredLetter,
  StoredToken,
} from './local-store.js';
import type {
  KyberUse,
  OpenedRatchetLetter,
  OwnPrekeyKind,
  RatchetChanges,
} from '../ratchet/index.js';
import { parseLogEvidence, type LogEvidence } from '../transparency/log-evidence.js';
import { MIGRATIONS } from './migrations.js';
import { SqliteRatchetTables } from './sqlite-ratchet-tables.js';
import { emptyWal, readSetting, writeSetting } from './sqlite-settings.js';

/** Options for {@link SqliteLocalStore}. */
export interface SqliteLocalStoreOptions {
  /** The keystore's 32-byte storage key; letters are unreadable without it. */
  readonly storageKey: Uint8Array;
}

interface ReceiptRow {
  name: string;
  sign_key: Uint8Array;
  box_key: Uint8Array;
  ratchet_key: Uint8Array | null;
  key_holder: string | null;
  registered_at: number;
  sig: Uint8Array;
}

interface LetterRow {
  sender: string;
  letter_id: Uint8Array;
  folder: LetterFolder;
  received_at: number;
  sealed: Uint8Array;
}

const SETTING = Object.freeze({
  operatorUrl: 'operator.url',
  operatorSignKey: 'operator.signKey',
  operatorFeedKey: 'operator.feedKey',
  torSocks: 'tor.socks',
  circuitIsolationKey: 'tor.isolationKey',
  self: 'self.name',
  lastStatementAt: 'statements.lastAt',
  operatorTokenKey: 'operator.tokenKey',
  tokensLeft: 'tokens.left',
  logCheckpoint: 'log.checkpoint',
  logEvidence: 'log.evidence',
});

/** Binds a stored token to its epoch. */
const tokenAd = (epoch: number) => encodeCanonical(['komrade/local-token/v1', epoch]);

/** Bytes of a token's input, then its output, in a stored token's plaintext. */
const TOKEN_PLAIN_INPUT = 32;
const TOKEN_PLAIN_BYTES = 32 + 64;

/** `?, ?, …` for `n` values. */
const placeholders = (n: number) => Array.from({ length: n }, () => '?').join(', ');

// The plaintext of a stored letter: the verified letter itself, as JSON.
const storedLetterSchema = z.strictObject({
  // Letters stored before forward secrecy read as the same signed content.
  v: z.union([z.literal(1), z.literal(2)]).transform(() => 2 as const),
  kind: z.enum(LETTER_KINDS),
  from: z.string().refine(isCanonicalName),
  to: z.string().refine(isCanonicalName),
  sentAt: z.number().int().nonnegative(),
  id: base64urlBytes({ exact: 16 }),
  body: z.string(),
});

/** Binds a stored ciphertext to its row, so rows cannot be swapped between senders or ids. */
const letterAd = (sender: string, id: Uint8Array) =>
  encodeCanonical(['komrade/local-letter/v1', sender, id]);

/** Binds a cached event to its collective and position. */
const eventAd = (collective: string, seq: number) =>
  encodeCanonical(['komrade/local-collective-event/v1', collective, seq]);

/** Binds a stored collective message to its row. */
const collectiveMessageAd = (collective: string, sender: string, id: Uint8Array) =>
  encodeCanonical(['komrade/local-collective-message/v1', collective, sender, id]);

interface CollectiveMessageRow {
  collective: string;
  sender: string;
  message_id: Uint8Array;
  received_at: number;
  sealed: Uint8Array;
}

const damagedStore = (what: string) =>
  new KomradeError(
    'DECODE_FAILED',
    `A stored ${what} cannot be decrypted: the local store was altered or belongs to another keystore.`,
  );

const toBytes = (value: unknown): Uint8Array | undefined =>
  value instanceof Uint8Array ? new Uint8Array(value) : undefined;

/** Whether statement (sentAt, id) comes after (sentAt0, id0): by time, ties by id (`null` first). */
function isNewer(
  sentAt: number,
  id: Uint8Array | null,
  sentAt0: number,
  id0: Uint8Array | null,
): boolean {
  if (sentAt !== sentAt0) return sentAt > sentAt0;
  if (id === null) return false;
  if (id0 === null) return true;
  return Buffer.compare(id, id0) > 0;
}

/** Implements {@link LocalStore} on better-sqlite3. */
export class SqliteLocalStore implements LocalStore {
  readonly #db: Database.Database;
  readonly #storageKey: Uint8Array;
  readonly #ratchet: SqliteRatchetTables;

  /**
   * Opens (creating when absent, mode 0600) and migrates the store.
   * @param path - the SQLite file, e.g. `~/.komrade/komrade.db`
   * @throws `CONFIG_INVALID` for a storage key that is not 32 bytes
   */
  constructor(path: string, options: SqliteLocalStoreOptions) {
    if (options.storageKey.length !== AEAD_KEY_BYTES) {
      throw new KomradeError('CONFIG_INVALID', 'The storage key must be 32 bytes.');
    }
    this.#storageKey = Uint8Array.from(options.storageKey);
    // Create the file ourselves so it is private from the start; SQLite gives -wal/-shm the same mode.
    if (path !== ':memory:') closeSync(openSync(path, 'a', 0o600));
    this.#db = new Database(path);
    this.#db.pragma('journal_mode = WAL');
    // A letter is acknowledged (deleted at the Operator) once saved: the save must survive power loss.
    this.#db.pragma('synchronous = FULL');
    this.#db.pragma('secure_delete = ON');
    this.#db.pragma('foreign_keys = ON');
    this.#migrate();
    this.#ratchet = new SqliteRatchetTables(this.#db, this.#storageKey);
  }

  // The ratchet's part (see SqliteRatchetTables): same file, same storage key.
  ratchetSession(peer: string): Uint8Array | undefined {
    return this.#ratchet.ratchetSession(peer);
  }
  ratchetPeers(): string[] {
    return this.#ratchet.ratchetPeers();
  }
  ownPrekey(kind: OwnPrekeyKind, id: number): Uint8Array | undefined {
    return this.#ratchet.ownPrekey(kind, id);
  }
  newestOwnPrekey(kind: OwnPrekeyKind): { id: number; record: Uint8Array } | undefined {
    return this.#ratchet.newestOwnPrekey(kind);
  }
  saveOwnPrekeys(
    kind: OwnPrekeyKind,
    records: readonly { id: number; record: Uint8Array }[],
  ): void {
    this.#ratchet.saveOwnPrekeys(kind, records);
  }
  ownLastResortPrekeys(kind: 'signed' | 'kyber'): { id: number; record: Uint8Array }[] {
    return this.#ratchet.ownLastResortPrekeys(kind);
  }
  deleteOwnPrekeys(kind: OwnPrekeyKind, ids: readonly number[]): number {
    return this.#ratchet.deleteOwnPrekeys(kind, ids);
  }
  deleteOwnOneTimePrekeys(): number {
    return this.#ratchet.deleteOwnOneTimePrekeys();
  }
  reservePrekeyIds(kind: OwnPrekeyKind, count: number): number {
    return this.#ratchet.reservePrekeyIds(kind, count);
  }
  oneTimePrekeySpent(id: number): boolean {
    return this.#ratchet.oneTimePrekeySpent(id);
  }
  kyberUsed(use: KyberUse): boolean {
    return this.#ratchet.kyberUsed(use);
  }
  firstMessageSeen(digest: Uint8Array): boolean {
    return this.#ratchet.firstMessageSeen(digest);
  }
  openedRatchetLetter(operatorId: Uint8Array): OpenedRatchetLetter | undefined {
    return this.#ratchet.openedRatchetLetter(operatorId);
  }
  forgetOpenedRatchetLetters(operatorIds: readonly Uint8Array[]): number {
    return this.#ratchet.forgetOpenedRatchetLetters(operatorIds);
  }
  lastRatchetReset(peer: string): number | undefined {
    return this.#ratchet.lastRatchetReset(peer);
  }
  markRatchetReset(peer: string, at: number): void {
    this.#ratchet.markRatchetReset(peer, at);
  }
  oneTimeReplaceDue(): boolean {
    return this.#ratchet.oneTimeReplaceDue();
  }
  setOneTimeReplaceDue(due: boolean): void {
    this.#ratchet.setOneTimeReplaceDue(due);
  }
  prekeysPublishedAt(): number | undefined {
    return this.#ratchet.prekeysPublishedAt();
  }
  setPrekeysPublishedAt(at: number): void {
    this.#ratchet.setPrekeysPublishedAt(at);
  }
  commitRatchet(changes: RatchetChanges): void {
    this.#ratchet.commitRatchet(changes);
  }

  #migrate(): void {
    const version = this.#db.pragma('user_version', { simple: true }) as number;
    if (version > MIGRATIONS.length) {
      throw new KomradeError(
        'CONFIG_INVALID',
        'The local store was written by a newer Komrade; upgrade Komrade to open it.',
      );
    }
    MIGRATIONS.forEach((sql, index) => {
      if (index < version) return;
      this.#db.transaction(() => {
        this.#db.exec(sql);
        this.#db.pragma(`user_version = ${index + 1}`);
      })();
    });
  }

  #setting(key: string): unknown {
    return readSetting(this.#db, key);
  }

  #setSetting(key: string, value: string | number | Uint8Array): void {
    writeSetting(this.#db, key, value);
  }

  operatorUrl(): string | undefined {
    const value = this.#setting(SETTING.operatorUrl);
    return typeof value === 'string' ? value : undefined;
  }

  setOperatorUrl(url: string): void {
    this.#setSetting(SETTING.operatorUrl, url);
  }

  torSocks(): SocksAddress | undefined {
    const value = this.#setting(SETTING.torSocks);
    if (typeof value !== 'string') return undefined;
    const match = /^(.+):(\d{1,5})$/.exec(value);
    if (match?.[1] === undefined || match[2] === undefined) return undefined;
    return { host: match[1], port: Number(match[2]) };
  }

  setTorSocks(address: SocksAddress | undefined): void {
    if (address === undefined) {
      this.#db.prepare('DELETE FROM settings WHERE key = ?').run(SETTING.torSocks);
      return;
    }
    this.#setSetting(SETTING.torSocks, `${address.host}:${address.port}`);
  }

  circuitIsolationKey(): string | undefined {
    const value = this.#setting(SETTING.circuitIsolationKey);
    return typeof value === 'string' ? value : undefined;
  }

  setCircuitIsolationKey(key: string): void {
    this.#setSetting(SETTING.circuitIsolationKey, key);
  }

  pinnedOperator(): PinnedOperator | undefined {
    const signKey = toBytes(this.#setting(SETTING.operatorSignKey));
    const feedKey = toBytes(this.#setting(SETTING.operatorFeedKey));
    return signKey === undefined || feedKey === undefined ? undefined : { signKey, feedKey };
  }

  pinOperator(pin: PinnedOperator): void {
    this.#db.transaction(() => {
      this.#setSetting(SETTING.operatorSignKey, pin.signKey);
      this.#setSetting(SETTING.operatorFeedKey, pin.feedKey);
    })();
  }

  pinnedTokenKey(): Uint8Array | undefined {
    return toBytes(this.#setting(SETTING.operatorTokenKey));
  }

  pinTokenKey(key: Uint8Array): void {
    this.#setSetting(SETTING.operatorTokenKey, key);
  }

  saveTokens(tokens: readonly Token[]): void {
    const insert = this.#db.prepare('INSERT INTO tokens (epoch, sealed) VALUES (?, ?)');
    this.#db.transaction(() => {
      for (const token of tokens) {
        const plain = new Uint8Array(TOKEN_PLAIN_BYTES);
        plain.set(token.input, 0);
        plain.set(token.output, TOKEN_PLAIN_INPUT);
        insert.run(token.epoch, aeadEncrypt(plain, this.#storageKey, tokenAd(token.epoch)));
        plain.fill(0);
      }
    })();
  }

  reserveToken(letterKey: Uint8Array, epochs: readonly number[]): StoredToken | undefined {
    if (epochs.length === 0) return undefined;
    return this.#db.transaction(() => {
      const accepted = placeholders(epochs.length);
      let row = this.#db
        .prepare(
          `SELECT id, epoch, sealed FROM tokens WHERE reserved_for = ? AND epoch IN (${accepted})`,
        )
        .get(letterKey, ...epochs) as { id: number; epoch: number; sealed: Uint8Array } | undefined;
      if (row === undefined) {
        // A reservation of an epoch gone is worth nothing: free the key for a fresh token.
        this.#db.prepare('DELETE FROM tokens WHERE reserved_for = ?').run(letterKey);
        row = this.#db
          .prepare(
            `SELECT id, epoch, sealed FROM tokens
             WHERE reserved_for IS NULL AND epoch IN (${accepted}) ORDER BY epoch, id LIMIT 1`,
          )
          .get(...epochs) as { id: number; epoch: number; sealed: Uint8Array } | undefined;
        if (row === undefined) return undefined;
        this.#db.prepare('UPDATE tokens SET reserved_for = ? WHERE id = ?').run(letterKey, row.id);
      }
      return { id: row.id, token: this.#openToken(row.epoch, row.sealed) };
    })();
  }

  #openToken(epoch: number, sealed: Uint8Array): Token {
    const plain = aeadDecrypt(sealed, this.#storageKey, tokenAd(epoch));
    if (plain === undefined || plain.length !== TOKEN_PLAIN_BYTES) throw damagedStore('token');
    const token = {
      epoch,
      input: plain.slice(0, TOKEN_PLAIN_INPUT),
      output: plain.slice(TOKEN_PLAIN_INPUT),
    };
    plain.fill(0);
    return token;
  }

  releaseToken(id: number): void {
    this.#db.prepare('UPDATE tokens SET reserved_for = NULL WHERE id = ?').run(id);
  }

  deleteToken(id: number): void {
    this.#db.prepare('DELETE FROM tokens WHERE id = ?').run(id);
  }

  pruneTokens(epochs: readonly number[]): number {
    return this.#db
      .prepare(`DELETE FROM tokens WHERE epoch NOT IN (${placeholders(epochs.length)})`)
      .run(...epochs).changes;
  }

  tokenCount(epochs: readonly number[]): number {
    if (epochs.length === 0) return 0;
    const row = this.#db
      .prepare(
        `SELECT count(*) AS n FROM tokens
         WHERE reserved_for IS NULL AND epoch IN (${placeholders(epochs.length)})`,
      )
      .get(...epochs) as { n: number };
    return row.n;
  }

  tokensLeft(epoch: number): number | undefined {
    const value = this.#setting(SETTING.tokensLeft);
    if (typeof value !== 'string') return undefined;
    const match = /^(\d+):(\d+)$/.exec(value);
    return match !== null && Number(match[1]) === epoch ? Number(match[2]) : undefined;
  }

  setTokensLeft(epoch: number, left: number): void {
    this.#setSetting(SETTING.tokensLeft, `${epoch}:${left}`);
  }

  logCheckpoint(): string | undefined {
    const value = this.#setting(SETTING.logCheckpoint);
    return typeof value === 'string' ? value : undefined;
  }

  saveLogCheckpoint(note: string): void {
    this.#setSetting(SETTING.logCheckpoint, note);
  }

  logEvidence(): LogEvidence | undefined {
    const value = this.#setting(SETTING.logEvidence);
    if (typeof value !== 'string') return undefined;
    // Kept even when unreadable (a newer version's): the client stays stopped either way.
    return (
      parseLogEvidence(value) ?? {
        v: 1,
        kind: 'inconsistent',
        message: 'Evidence of an inconsistent registry log is kept but cannot be read.',
        checked: 'unknown',
        source: 'operator',
        detectedAt: 0,
        presented: '',
        hashes: [],
      }
    );
  }

  saveLogEvidence(evidence: LogEvidence): void {
    this.#setSetting(SETTING.logEvidence, JSON.stringify(evidence));
  }

  clearLogEvidence(): void {
    this.#db.prepare('DELETE FROM settings WHERE key = ?').run(SETTING.logEvidence);
  }

  reserveStatementTime(now: number): number {
    return this.#db.transaction(() => {
      const last = this.#setting(SETTING.lastStatementAt);
      const at = typeof last === 'number' ? Math.max(now, last + 1) : now;
      this.#setSetting(SETTING.lastStatementAt, at);
      return at;
    })();
  }

  ownReceipt(): Receipt | undefined {
    const name = this.#setting(SETTING.self);
    return typeof name === 'string' ? this.cachedReceipt(name) : undefined;
  }

  saveOwnReceipt(receipt: Receipt): void {
    this.#db.transaction(() => {
      this.cacheReceipt(receipt);
      this.#setSetting(SETTING.self, receipt.name);
    })();
  }

  cachedReceipt(name: string): Receipt | undefined {
    const row = this.#db.prepare('SELECT * FROM receipts WHERE name = ?').get(name) as
      ReceiptRow | undefined;
    if (row === undefined || !isKeyHolder(row.key_holder)) return undefined;
    return {
      name: row.name,
      signKey: new Uint8Array(row.sign_key),
      boxKey: new Uint8Array(row.box_key),
      ratchetKey: row.ratchet_key === null ? null : new Uint8Array(row.ratchet_key),
      keyHolder: row.key_holder,
      registeredAt: row.registered_at,
      sig: new Uint8Array(row.sig),
    };
  }

  cacheReceipt(receipt: Receipt): void {
    this.#db
      .prepare(
        `INSERT INTO receipts (name, sign_key, box_key, ratchet_key, key_holder, registered_at, sig)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET sign_key = excluded.sign_key, box_key = excluded.box_key,
           ratchet_key = excluded.ratchet_key, key_holder = excluded.key_holder,
           registered_at = excluded.registered_at, sig = excluded.sig`,
      )
      .run(
        receipt.name,
        receipt.signKey,
        receipt.boxKey,
        receipt.ratchetKey,
        receipt.keyHolder,
        receipt.registeredAt,
        receipt.sig,
      );
  }

  contactState(name: string): ContactState | undefined {
    const row = this.#db.prepare('SELECT state FROM contacts WHERE name = ?').get(name) as
      { state: ContactState } | undefined;
    return row?.state;
  }

  setContactState(name: string, state: ContactState, at: number): void {
    this.#db
      .prepare(
        `INSERT INTO contacts (name, state, updated_at) VALUES (?, ?, ?)
         ON CONFLICT (name) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
      )
      .run(name, state, at);
  }

  clearContactState(name: string): boolean {
    return this.#db.prepare('DELETE FROM contacts WHERE name = ?').run(name).changes > 0;
  }

  contacts(): Contact[] {
    const rows = this.#db
      .prepare('SELECT name, state, updated_at FROM contacts ORDER BY name')
      .all() as { name: string; state: ContactState; updated_at: number }[];
    return rows.map((r) => ({ name: r.name, state: r.state, since: r.updated_at }));
  }

  saveLetters(letters: readonly StoredLetter[]): StoredLetter[] {
    const insert = this.#db.prepare(
      `INSERT INTO letters (sender, letter_id, folder, received_at, sealed) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (sender, letter_id) DO NOTHING`,
    );
    return this.#db.transaction(() => {
      const added: StoredLetter[] = [];
      for (const stored of letters) {
        const { letter, folder, receivedAt } = stored;
        if (!this.markProcessed(letter.from, letter.id, letter.sentAt)) continue;
        const plaintext = Buffer.from(JSON.stringify({ ...letter, id: toBase64url(letter.id) }));
        const sealed = aeadEncrypt(plaintext, this.#storageKey, letterAd(letter.from, letter.id));
        plaintext.fill(0);
        if (insert.run(letter.from, letter.id, folder, receivedAt, sealed).changes > 0) {
          added.push(stored);
        }
      }
      return added;
    })();
  }

  letters(folder: LetterFolder, from?: string): StoredLetter[] {
    const rows = (
      from === undefined
        ? this.#db
            .prepare('SELECT * FROM letters WHERE folder = ? ORDER BY received_at, rowid')
            .all(folder)
        : this.#db
            .prepare(
              'SELECT * FROM letters WHERE folder = ? AND sender = ? ORDER BY received_at, rowid',
            )
            .all(folder, from)
    ) as LetterRow[];
    return rows.map((row) => this.#decrypt(row));
  }

  #decrypt(row: LetterRow): StoredLetter {
    const plaintext = aeadDecrypt(
      new Uint8Array(row.sealed),
      this.#storageKey,
      letterAd(row.sender, new Uint8Array(row.letter_id)),
    );
    const damaged = () =>
      new KomradeError(
        'DECODE_FAILED',
        'A stored letter cannot be decrypted: the local store was altered or belongs to another keystore.',
      );
    if (plaintext === undefined) throw damaged();
    let json: unknown;
    try {
      json = JSON.parse(Buffer.from(plaintext).toString('utf8'));
    } catch {
      throw damaged();
    } finally {
      plaintext.fill(0);
    }
    const parsed = storedLetterSchema.safeParse(json);
    if (!parsed.success || parsed.data.from !== row.sender) throw damaged();
    const letter: Letter = parsed.data;
    return { letter, folder: row.folder, receivedAt: row.received_at };
  }

  moveLetters(from: string, source: LetterFolder, target: LetterFolder): number {
    return this.#db
      .prepare('UPDATE letters SET folder = ? WHERE sender = ? AND folder = ?')
      .run(target, from, source).changes;
  }

  deleteLetters(from: string, folder: LetterFolder): number {
    const deleted = this.#db
      .prepare('DELETE FROM letters WHERE sender = ? AND folder = ?')
      .run(from, folder).changes;
    if (deleted > 0) emptyWal(this.#db);
    return deleted;
  }

  wasProcessed(sender: string, id: Uint8Array): boolean {
    return (
      this.#db
        .prepare('SELECT 1 FROM processed_letters WHERE sender = ? AND letter_id = ?')
        .get(sender, id) !== undefined
    );
  }

  markProcessed(sender: string, id: Uint8Array, sentAt: number): boolean {
    return (
      this.#db
        .prepare(
          `INSERT INTO processed_letters (sender, letter_id, sent_at) VALUES (?, ?, ?)
           ON CONFLICT (sender, letter_id) DO NOTHING`,
        )
        .run(sender, id, sentAt).changes > 0
    );
  }

  pruneProcessed(sentBefore: number): number {
    return this.#db.prepare('DELETE FROM processed_letters WHERE sent_at < ?').run(sentBefore)
      .changes;
  }

  applyFollowStatement(statement: FollowStatement, at: number): FollowOutcome {
    const { from, follows, sentAt, id } = statement;
    return this.#db.transaction((): FollowOutcome => {
      if (id !== null && !this.markProcessed(from, id, sentAt)) return 'duplicate';
      const newest = this.#db
        .prepare('SELECT sent_at, letter_id FROM follow_statements WHERE name = ?')
        .get(from) as { sent_at: number; letter_id: Uint8Array | null } | undefined;
      if (newest !== undefined && !isNewer(sentAt, id, newest.sent_at, newest.letter_id)) {
        return 'stale';
      }
      this.#db
        .prepare(
          `INSERT INTO follow_statements (name, follows, sent_at, letter_id) VALUES (?, ?, ?, ?)
           ON CONFLICT (name) DO UPDATE SET follows = excluded.follows, sent_at = excluded.sent_at,
             letter_id = excluded.letter_id`,
        )
        .run(from, follows ? 1 : 0, sentAt, id);
      if (follows) return this.addFollower(from, at) ? 'added' : 'unchanged';
      return this.removeFollower(from) ? 'removed' : 'unchanged';
    })();
  }

  followers(): string[] {
    return this.#names('followers');
  }

  addFollower(name: string, at: number): boolean {
    return this.#addName('followers', name, at);
  }

  removeFollower(name: string): boolean {
    return this.#removeName('followers', name);
  }

  following(): string[] {
    return this.#names('following');
  }

  addFollowing(name: string, at: number): boolean {
    return this.#addName('following', name, at);
  }

  removeFollowing(name: string): boolean {
    return this.#removeName('following', name);
  }

  #names(table: 'followers' | 'following'): string[] {
    return (
      this.#db.prepare(`SELECT name FROM ${table} ORDER BY name`).all() as { name: string }[]
    ).map((r) => r.name);
  }

  #addName(table: 'followers' | 'following', name: string, at: number): boolean {
    return (
      this.#db
        .prepare(`INSERT INTO ${table} (name, since) VALUES (?, ?) ON CONFLICT DO NOTHING`)
        .run(name, at).changes > 0
    );
  }

  #removeName(table: 'followers' | 'following', name: string): boolean {
    return this.#db.prepare(`DELETE FROM ${table} WHERE name = ?`).run(name).changes > 0;
  }

  collectives(): string[] {
    return (
      this.#db.prepare('SELECT name FROM collectives ORDER BY name').all() as { name: string }[]
    ).map((r) => r.name);
  }

  addCollective(name: string, at: number): boolean {
    return (
      this.#db
        .prepare('INSERT INTO collectives (name, since) VALUES (?, ?) ON CONFLICT DO NOTHING')
        .run(name, at).changes > 0
    );
  }

  collectiveEvents(collective: string): SignedCollectiveEvent[] {
    const rows = this.#db
      .prepare('SELECT seq, sealed FROM collective_events WHERE collective = ? ORDER BY seq')
      .all(collective) as { seq: number; sealed: Uint8Array }[];
    return rows.map((row, index) => {
      if (row.seq !== index) throw damagedStore('collective log');
      return this.#openEvent(collective, row.seq, row.sealed);
    });
  }

  #openEvent(collective: string, seq: number, sealed: Uint8Array): SignedCollectiveEvent {
    const plaintext = aeadDecrypt(
      new Uint8Array(sealed),
      this.#storageKey,
      eventAd(collective, seq),
    );
    if (plaintext === undefined) throw damagedStore('collective event');
    try {
      const value = decodeCanonical(plaintext, 'stored collective event') as {
        signed?: unknown;
        sig?: unknown;
      };
      if (!(value.signed instanceof Uint8Array) || !(value.sig instanceof Uint8Array)) {
        throw damagedStore('collective event');
      }
      return { signed: new Uint8Array(value.signed), sig: new Uint8Array(value.sig) };
    } catch {
      throw damagedStore('collective event');
    }
  }

  appendCollectiveEvents(
    collective: string,
    from: number,
    events: readonly SignedCollectiveEvent[],
  ): void {
    const count = this.#db.prepare(
      'SELECT count(*) AS n FROM collective_events WHERE collective = ?',
    );
    const existing = this.#db.prepare(
      'SELECT sealed FROM collective_events WHERE collective = ? AND seq = ?',
    );
    const insert = this.#db.prepare(
      'INSERT INTO collective_events (collective, seq, sealed) VALUES (?, ?, ?)',
    );
    this.#db.transaction(() => {
      const stored = (count.get(collective) as { n: number }).n;
      if (from > stored) {
        throw new KomradeError(
          'USAGE',
          `Cannot cache events of @${collective} from #${from}: only ${stored} are cached.`,
        );
      }
      events.forEach((event, index) => {
        const seq = from + index;
        if (seq < stored) {
          // Another process cached it first: it must be the very same event.
          const row = existing.get(collective, seq) as { sealed: Uint8Array } | undefined;
          const cached =
            row === undefined ? undefined : this.#openEvent(collective, seq, row.sealed);
          if (
            cached === undefined ||
            !bytesEqual(cached.signed, event.signed) ||
            !bytesEqual(cached.sig, event.sig)
          ) {
            throw new KomradeError(
              'COLLECTIVE_INVALID',
              `The Operator served two different events #${seq} of @${collective}.`,
            );
          }
          return;
        }
        const plaintext = encodeCanonical({ signed: event.signed, sig: event.sig });
        insert.run(
          collective,
          seq,
          aeadEncrypt(plaintext, this.#storageKey, eventAd(collective, seq)),
        );
      });
    })();
  }

  saveCollectiveMessages(messages: readonly StoredCollectiveMessage[]): StoredCollectiveMessage[] {
    const insert = this.#db.prepare(
      `INSERT INTO collective_messages (collective, sender, message_id, received_at, sealed)
       VALUES (?, ?, ?, ?, ?) ON CONFLICT (collective, sender, message_id) DO NOTHING`,
    );
    return this.#db.transaction(() => {
      const added: StoredCollectiveMessage[] = [];
      for (const stored of messages) {
        const { message, receivedAt } = stored;
        const plaintext = Buffer.from(JSON.stringify({ ...message, id: toBase64url(message.id) }));
        const sealed = aeadEncrypt(
          plaintext,
          this.#storageKey,
          collectiveMessageAd(message.collective, message.from, message.id),
        );
        plaintext.fill(0);
        const row = [message.collective, message.from, message.id, receivedAt, sealed] as const;
        if (insert.run(...row).changes > 0) added.push(stored);
      }
      return added;
    })();
  }

  collectiveMessages(collective: string): StoredCollectiveMessage[] {
    const rows = this.#db
      .prepare('SELECT * FROM collective_messages WHERE collective = ? ORDER BY received_at, rowid')
      .all(collective) as CollectiveMessageRow[];
    return rows.map((row) => {
      const plaintext = aeadDecrypt(
        new Uint8Array(row.sealed),
        this.#storageKey,
        collectiveMessageAd(row.collective, row.sender, new Uint8Array(row.message_id)),
      );
      if (plaintext === undefined) throw damagedStore('collective message');
      let json: { id?: unknown };
      try {
        json = JSON.parse(Buffer.from(plaintext).toString('utf8')) as { id?: unknown };
      } catch {
        throw damagedStore('collective message');
      } finally {
        plaintext.fill(0);
      }
      const id = typeof json.id === 'string' ? fromBase64url(json.id) : undefined;
      const message = checkCollectiveMessage({ ...json, id });
      if (
        !message.ok ||
        message.value.collective !== row.collective ||
        message.value.from !== row.sender
      ) {
        throw damagedStore('collective message');
      }
      return { message: message.value, receivedAt: row.received_at };
    });
  }

  close(): void {
    this.#storageKey.fill(0);
    if (this.#db.open) this.#db.close();
  }
}
