/**
 * The ratchet's tables in the local store's SQLite file: session records, own prekeys' secret
 * halves and opened letters, each encrypted under the storage key and bound to its row; spent
 * one-time prekey ids and last-resort Kyber uses, so a replayed first message is refused even
 * after its session is gone.
 */
import type Database from 'better-sqlite3';
import { aeadDecrypt, aeadEncrypt } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { encodeCanonical } from '../../common/wire/index.js';
import { emptyWal, readSetting, writeSetting } from './sqlite-settings.js';
import type {
  KyberUse,
  OpenedRatchetLetter,
  OwnPrekeyKind,
  RatchetChanges,
  RatchetStore,
} from '../ratchet/index.js';

const sessionAd = (peer: string) => encodeCanonical(['komrade/local-ratchet-session/v1', peer]);
const prekeyAd = (kind: OwnPrekeyKind, id: number) =>
  encodeCanonical(['komrade/local-prekey/v1', kind, id]);
const openedAd = (operatorId: Uint8Array, digest: Uint8Array, reset: boolean) =>
  encodeCanonical(['komrade/local-opened-letter/v1', operatorId, digest, reset]);

const damaged = (what: string) =>
  new KomradeError(
    'DECODE_FAILED',
    `A stored ${what} cannot be decrypted: the local store was altered or belongs to another keystore.`,
  );

const PUBLISHED_AT = 'ratchet.prekeysPublishedAt';
const REPLACE_DUE = 'ratchet.replaceOneTime';
const nextIdSetting = (kind: OwnPrekeyKind) => `ratchet.nextId.${kind}`;

/** Implements {@link RatchetStore} on the local store's database. */
export class SqliteRatchetTables implements RatchetStore {
  readonly #db: Database.Database;
  readonly #key: Uint8Array;

  constructor(db: Database.Database, storageKey: Uint8Array) {
    this.#db = db;
    this.#key = storageKey;
  }

  #open(sealed: unknown, ad: Uint8Array, what: string): Uint8Array {
    const plaintext = aeadDecrypt(new Uint8Array(sealed as Uint8Array), this.#key, ad);
    if (plaintext === undefined) throw damaged(what);
    return plaintext;
  }

  ratchetSession(peer: string): Uint8Array | undefined {
    const row = this.#db.prepare('SELECT sealed FROM ratchet_sessions WHERE peer = ?').get(peer) as
      { sealed: Uint8Array } | undefined;
    return row === undefined ? undefined : this.#open(row.sealed, sessionAd(peer), 'session');
  }

  ratchetPeers(): string[] {
    const rows = this.#db.prepare('SELECT peer FROM ratchet_sessions ORDER BY peer').all() as {
      peer: string;
    }[];
    return rows.map((row) => row.peer);
  }

  ownPrekey(kind: OwnPrekeyKind, id: number): Uint8Array | undefined {
    const row = this.#db
      .prepare('SELECT sealed FROM ratchet_prekeys WHERE kind = ? AND id = ?')
      .get(kind, id) as { sealed: Uint8Array } | undefined;
    return row === undefined ? undefined : this.#open(row.sealed, prekeyAd(kind, id), 'prekey');
  }

  newestOwnPrekey(kind: OwnPrekeyKind): { id: number; record: Uint8Array } | undefined {
    const row = this.#db
      .prepare('SELECT id, sealed FROM ratchet_prekeys WHERE kind = ? ORDER BY id DESC LIMIT 1')
      .get(kind) as { id: number; sealed: Uint8Array } | undefined;
    if (row === undefined) return undefined;
    return { id: row.id, record: this.#open(row.sealed, prekeyAd(kind, row.id), 'prekey') };
  }

  saveOwnPrekeys(
    kind: OwnPrekeyKind,
    records: readonly { id: number; record: Uint8Array }[],
  ): void {
    const insert = this.#db.prepare(
      'INSERT INTO ratchet_prekeys (kind, id, sealed) VALUES (?, ?, ?)',
    );
    this.#db.transaction(() => {
      for (const { id, record } of records) {
        insert.run(kind, id, aeadEncrypt(record, this.#key, prekeyAd(kind, id)));
      }
    })();
  }

  ownLastResortPrekeys(kind: 'signed' | 'kyber'): { id: number; record: Uint8Array }[] {
    const rows = this.#db
      .prepare('SELECT id, sealed FROM ratchet_prekeys WHERE kind = ? ORDER BY id')
      .all(kind) as { id: number; sealed: Uint8Array }[];
    return rows.map((row) => ({
      id: row.id,
      record: this.#open(row.sealed, prekeyAd(kind, row.id), 'prekey'),
    }));
  }

  deleteOwnPrekeys(kind: OwnPrekeyKind, ids: readonly number[]): number {
    const remove = this.#db.prepare('DELETE FROM ratchet_prekeys WHERE kind = ? AND id = ?');
    return this.#db.transaction(() => ids.reduce((n, id) => n + remove.run(kind, id).changes, 0))();
  }

  deleteOwnOneTimePrekeys(): number {
    return this.#db.prepare("DELETE FROM ratchet_prekeys WHERE kind = 'one-time'").run().changes;
  }

  reservePrekeyIds(kind: OwnPrekeyKind, count: number): number {
    return this.#db.transaction(() => {
      const next = readSetting(this.#db, nextIdSetting(kind));
      const first = typeof next === 'number' ? next : 1;
      writeSetting(this.#db, nextIdSetting(kind), first + count);
      return first;
    })();
  }

  oneTimePrekeySpent(id: number): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM ratchet_spent_one_time WHERE id = ?').get(id) !== undefined
    );
  }

  firstMessageSeen(digest: Uint8Array): boolean {
    return (
      this.#db.prepare('SELECT 1 FROM ratchet_first_seen WHERE digest = ?').get(digest) !==
      undefined
    );
  }

  kyberUsed(use: KyberUse): boolean {
    return (
      this.#db
        .prepare(
          'SELECT 1 FROM ratchet_kyber_uses WHERE kyber_id = ? AND signed_id = ? AND base_key = ?',
        )
        .get(use.kyberId, use.signedId, use.baseKey) !== undefined
    );
  }

  openedRatchetLetter(operatorId: Uint8Array): OpenedRatchetLetter | undefined {
    const row = this.#db
      .prepare('SELECT digest, sealed, reset FROM ratchet_opened WHERE operator_id = ?')
      .get(operatorId) as { digest: Uint8Array; sealed: Uint8Array; reset: number } | undefined;
    if (row === undefined) return undefined;
    const digest = new Uint8Array(row.digest);
    const reset = row.reset === 1;
    return {
      operatorId,
      digest,
      reset,
      plaintext: this.#open(row.sealed, openedAd(operatorId, digest, reset), 'opened letter'),
    };
  }

  forgetOpenedRatchetLetters(operatorIds: readonly Uint8Array[]): number {
    const remove = this.#db.prepare('DELETE FROM ratchet_opened WHERE operator_id = ?');
    const removed = this.#db.transaction(() =>
      operatorIds.reduce((n, id) => n + remove.run(id).changes, 0),
    )();
    emptyWal(this.#db);
    return removed;
  }

  lastRatchetReset(peer: string): number | undefined {
    const row = this.#db.prepare('SELECT at FROM ratchet_resets WHERE peer = ?').get(peer) as
      { at: number } | undefined;
    return row?.at;
  }

  markRatchetReset(peer: string, at: number): void {
    this.#db
      .prepare(
        'INSERT INTO ratchet_resets (peer, at) VALUES (?, ?) ON CONFLICT (peer) DO UPDATE SET at = excluded.at',
      )
      .run(peer, at);
  }

  oneTimeReplaceDue(): boolean {
    return readSetting(this.#db, REPLACE_DUE) === 1;
  }

  setOneTimeReplaceDue(due: boolean): void {
    writeSetting(this.#db, REPLACE_DUE, due ? 1 : 0);
  }

  prekeysPublishedAt(): number | undefined {
    const at = readSetting(this.#db, PUBLISHED_AT);
    return typeof at === 'number' ? at : undefined;
  }

  setPrekeysPublishedAt(at: number): void {
    writeSetting(this.#db, PUBLISHED_AT, at);
  }

  commitRatchet(changes: RatchetChanges): void {
    const saveSession = this.#db.prepare(
      `INSERT INTO ratchet_sessions (peer, sealed) VALUES (?, ?)
       ON CONFLICT (peer) DO UPDATE SET sealed = excluded.sealed`,
    );
    const spend = this.#db.prepare(
      "DELETE FROM ratchet_prekeys WHERE kind = 'one-time' AND id = ?",
    );
    const remember = this.#db.prepare(
      'INSERT OR IGNORE INTO ratchet_spent_one_time (id) VALUES (?)',
    );
    const kyber = this.#db.prepare(
      'INSERT OR IGNORE INTO ratchet_kyber_uses (kyber_id, signed_id, base_key) VALUES (?, ?, ?)',
    );
    const open = this.#db.prepare(
      `INSERT INTO ratchet_opened (operator_id, digest, sealed, reset) VALUES (?, ?, ?, ?)
       ON CONFLICT (operator_id) DO UPDATE SET digest = excluded.digest, sealed = excluded.sealed,
         reset = excluded.reset`,
    );
    this.#db.transaction(() => {
      for (const [peer, record] of changes.sessions) {
        saveSession.run(peer, aeadEncrypt(record, this.#key, sessionAd(peer)));
      }
      for (const id of changes.spentOneTime) {
        spend.run(id);
        remember.run(id);
      }
      for (const use of changes.kyberUses) kyber.run(use.kyberId, use.signedId, use.baseKey);
      if (changes.firstSeen !== undefined) {
        this.#db
          .prepare('INSERT OR IGNORE INTO ratchet_first_seen (digest) VALUES (?)')
          .run(changes.firstSeen);
      }
      const opened = changes.opened;
      if (opened !== undefined) {
        open.run(
          opened.operatorId,
          opened.digest,
          aeadEncrypt(
            opened.plaintext,
            this.#key,
            openedAd(opened.operatorId, opened.digest, opened.reset),
          ),
          opened.reset ? 1 : 0,
        );
      }
    })();
    // A step that opened a letter keeps its superseded state until that letter is forgotten.
    if (changes.opened === undefined) emptyWal(this.#db);
  }
}
