/**
 * `SqliteBridgeStore`: the adapter's own SQLite file (see {@link openPrivateDatabase}). Each
 * identity's secrets and chat address are sealed with XChaCha20-Poly1305 under the vault key; chat
 * users are found by an HMAC of their id, never stored in the clear.
 */
import { createHmac } from 'node:crypto';
import type Database from 'better-sqlite3';
import {
  aeadDecrypt,
  aeadEncrypt,
  identityKeysFromSecrets,
  randomBytes,
  secretsOf,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { decodeCanonical, encodeCanonical, toBase64url } from '../../common/wire/index.js';
import { openPrivateDatabase } from '../../client/index.js';
import type {
  AddOutboxResult,
  BridgeStore,
  Delivery,
  FetchedCollectiveMessage,
  HandledEvent,
  HeldIdentity,
  NewOutboxRow,
  OutboxKind,
  OutboxRow,
} from './bridge-store.js';

/** Keys the store is opened with (derived from the adapter's master key). */
export interface SqliteBridgeStoreKeys {
  /** Seals identity secrets and chat addresses. */
  readonly vaultKey: Uint8Array;
  /** Keys the HMAC that finds a chat user's identity. */
  readonly lookupKey: Uint8Array;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS identities (
  id TEXT PRIMARY KEY,
  lookup BLOB NOT NULL UNIQUE,
  sealed BLOB NOT NULL,
  name TEXT UNIQUE,
  created_at INTEGER NOT NULL
) STRICT;
CREATE TABLE IF NOT EXISTS deliveries (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  sender TEXT NOT NULL,
  letter_id TEXT NOT NULL,
  state TEXT NOT NULL CHECK (state IN ('pending', 'delivered')),
  operator_ids TEXT NOT NULL,
  surface_ref TEXT,
  created_at INTEGER NOT NULL,
  collective TEXT,
  content BLOB,
  UNIQUE (identity, sender, letter_id)
) STRICT;
CREATE INDEX IF NOT EXISTS deliveries_pending ON deliveries (state, identity);
CREATE INDEX IF NOT EXISTS deliveries_ref ON deliveries (identity, surface_ref);
CREATE TABLE IF NOT EXISTS outbox (
  id TEXT PRIMARY KEY,
  identity TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  kind TEXT NOT NULL CHECK (kind IN ('letter', 'collective')),
  envelope TEXT NOT NULL,
  event TEXT,
  created_at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS outbox_identity ON outbox (identity);
CREATE TABLE IF NOT EXISTS handled_events (
  event TEXT PRIMARY KEY,
  result BLOB NOT NULL,
  answered INTEGER NOT NULL DEFAULT 0,
  at INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS handled_events_at ON handled_events (at);
-- Follow lists of versions before the identities' letter stores held them; emptied at start.
CREATE TABLE IF NOT EXISTS follows (
  identity TEXT NOT NULL REFERENCES identities (id) ON DELETE CASCADE,
  name TEXT NOT NULL,
  PRIMARY KEY (identity, name)
) STRICT;
`;

/** Columns added after the first release: stores made before get them on open. */
const ADDED_COLUMNS: readonly (readonly [table: string, column: string, type: string])[] = [
  ['deliveries', 'collective', 'TEXT'],
  ['deliveries', 'content', 'BLOB'],
];

interface DeliveryRow {
  id: string;
  identity: string;
  sender: string;
  letter_id: string;
  state: 'pending' | 'delivered';
  operator_ids: string;
  surface_ref: string | null;
  collective: string | null;
}

interface OutboxDbRow {
  id: string;
  identity: string;
  kind: OutboxKind;
  envelope: string;
  event: string | null;
  created_at: number;
}

interface EventDbRow {
  event: string;
  result: Uint8Array;
  answered: number;
  at: number;
}

const AD_TAG = 'komrade/bridge-identity/v1';
const CONTENT_AD_TAG = 'komrade/bridge-delivery/v1';
const EVENT_AD_TAG = 'komrade/bridge-event/v1';
const OUTBOX_COLUMNS = 'id, identity, kind, envelope, event, created_at';

const toOutboxRow = (row: OutboxDbRow): OutboxRow => ({
  id: row.id,
  identity: row.identity,
  kind: row.kind,
  envelope: row.envelope,
  event: row.event,
  createdAt: row.created_at,
});
const DELIVERY_COLUMNS =
  'id, identity, sender, letter_id, state, operator_ids, surface_ref, collective';

const toDelivery = (row: DeliveryRow): Delivery => ({
  id: row.id,
  identity: row.identity,
  sender: row.sender,
  letterId: row.letter_id,
  state: row.state,
  operatorIds: JSON.parse(row.operator_ids) as string[],
  surfaceRef: row.surface_ref,
  collective: row.collective,
});

/** Implements {@link BridgeStore} on better-sqlite3. */
export class SqliteBridgeStore implements BridgeStore {
  readonly #db: Database.Database;
  readonly #vaultKey: Uint8Array;
  readonly #lookupKey: Uint8Array;
  readonly #now: () => number;

  /**
   * @param path - the SQLite file (created mode 0600)
   * @throws `CONFIG_INVALID` for keys that are not 32 bytes
   */
  constructor(path: string, keys: SqliteBridgeStoreKeys, now: () => number = Date.now) {
    if (keys.vaultKey.length !== 32 || keys.lookupKey.length !== 32) {
      throw new KomradeError('CONFIG_INVALID', 'The bridge store keys must be 32 bytes.');
    }
    this.#vaultKey = Uint8Array.from(keys.vaultKey);
    this.#lookupKey = Uint8Array.from(keys.lookupKey);
    this.#now = now;
    this.#db = openPrivateDatabase(path);
    this.#db.pragma('foreign_keys = ON');
    this.#db.exec(SCHEMA);
    for (const [table, column, type] of ADDED_COLUMNS) {
      const columns = this.#db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[];
      if (!columns.some((c) => c.name === column)) {
        this.#db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${type}`);
      }
    }
  }

  #lookup(surfaceUser: string): Buffer {
    return createHmac('sha256', this.#lookupKey).update(surfaceUser).digest();
  }

  createIdentity(surfaceUser: string, identity: Omit<HeldIdentity, 'name'>): void {
    const { signSeed, boxSecret } = secretsOf(identity.keys);
    const plain = encodeCanonical({
      signSeed,
      boxSecret,
      storageKey: identity.storageKey,
      chat: identity.chat,
    });
    const sealed = aeadEncrypt(plain, this.#vaultKey, encodeCanonical([AD_TAG, identity.id]));
    plain.fill(0);
    signSeed.fill(0);
    boxSecret.fill(0);
    try {
      this.#db
        .prepare('INSERT INTO identities (id, lookup, sealed, created_at) VALUES (?, ?, ?, ?)')
        .run(identity.id, this.#lookup(surfaceUser), sealed, this.#now());
    } catch (cause) {
      throw new KomradeError('KEYSTORE_EXISTS', 'This chat user already has an identity here.', {
        cause,
      });
    }
  }

  #unseal(row: { id: string; sealed: Uint8Array; name: string | null }): HeldIdentity {
    const plain = aeadDecrypt(
      new Uint8Array(row.sealed),
      this.#vaultKey,
      encodeCanonical([AD_TAG, row.id]),
    );
    if (plain === undefined) {
      throw new KomradeError(
        'WRONG_PASSPHRASE',
        'An identity in the bridge store cannot be opened: wrong master key, or the file was altered.',
      );
    }
    try {
      const value = decodeCanonical(plain, 'identity') as Record<string, unknown>;
      const { signSeed, boxSecret, storageKey, chat } = value;
      if (
        !(signSeed instanceof Uint8Array) ||
        !(boxSecret instanceof Uint8Array) ||
        !(storageKey instanceof Uint8Array) ||
        typeof chat !== 'string'
      ) {
        throw new KomradeError('KEYSTORE_CORRUPT', 'An identity in the bridge store is damaged.');
      }
      return {
        id: row.id,
        keys: identityKeysFromSecrets(signSeed, boxSecret),
        storageKey: Uint8Array.from(storageKey),
        chat,
        name: row.name,
      };
    } finally {
      plain.fill(0);
    }
  }

  identityOfUser(surfaceUser: string): HeldIdentity | undefined {
    const row = this.#db
      .prepare('SELECT id, sealed, name FROM identities WHERE lookup = ?')
      .get(this.#lookup(surfaceUser)) as
      { id: string; sealed: Uint8Array; name: string | null } | undefined;
    return row === undefined ? undefined : this.#unseal(row);
  }

  identity(id: string): HeldIdentity | undefined {
    const row = this.#db.prepare('SELECT id, sealed, name FROM identities WHERE id = ?').get(id) as
      { id: string; sealed: Uint8Array; name: string | null } | undefined;
    return row === undefined ? undefined : this.#unseal(row);
  }

  identityNamed(name: string): string | undefined {
    const row = this.#db.prepare('SELECT id FROM identities WHERE name = ?').get(name) as
      { id: string } | undefined;
    return row?.id;
  }

  setName(id: string, name: string): void {
    this.#db.prepare('UPDATE identities SET name = ? WHERE id = ?').run(name, id);
  }

  registeredIdentities(): string[] {
    return (
      this.#db.prepare('SELECT id FROM identities WHERE name IS NOT NULL').all() as { id: string }[]
    ).map((r) => r.id);
  }

  deleteIdentity(id: string): void {
    this.#db.prepare('DELETE FROM identities WHERE id = ?').run(id);
  }

  recordFetched(
    identity: string,
    sender: string,
    letterId: string,
    operatorId: string,
    collective?: FetchedCollectiveMessage,
  ): Delivery {
    return this.#db.transaction(() => {
      const existing = this.#db
        .prepare(
          `SELECT ${DELIVERY_COLUMNS} FROM deliveries
           WHERE identity = ? AND sender = ? AND letter_id = ?`,
        )
        .get(identity, sender, letterId) as DeliveryRow | undefined;
      if (existing === undefined) {
        const id = toBase64url(randomBytes(16));
        const content =
          collective === undefined
            ? null
            : aeadEncrypt(
                collective.content,
                this.#vaultKey,
                encodeCanonical([CONTENT_AD_TAG, id]),
              );
        this.#db
          .prepare(
            `INSERT INTO deliveries
               (id, identity, sender, letter_id, state, operator_ids, created_at, collective, content)
             VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)`,
          )
          .run(
            id,
            identity,
            sender,
            letterId,
            JSON.stringify([operatorId]),
            this.#now(),
            collective?.collective ?? null,
            content,
          );
        return {
          id,
          identity,
          sender,
          letterId,
          state: 'pending' as const,
          operatorIds: [operatorId],
          surfaceRef: null,
          collective: collective?.collective ?? null,
        };
      }
      const ids = JSON.parse(existing.operator_ids) as string[];
      // A copy of a letter already shown is acknowledged at once by the caller: nothing to keep.
      if (existing.state === 'delivered') return toDelivery(existing);
      if (!ids.includes(operatorId)) ids.push(operatorId);
      this.#db
        .prepare('UPDATE deliveries SET operator_ids = ? WHERE id = ?')
        .run(JSON.stringify(ids), existing.id);
      return toDelivery({ ...existing, operator_ids: JSON.stringify(ids) });
    })();
  }

  delivery(id: string): Delivery | undefined {
    const row = this.#db
      .prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`)
      .get(id) as DeliveryRow | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  deliveryContent(id: string): Uint8Array | undefined {
    const row = this.#db.prepare('SELECT content FROM deliveries WHERE id = ?').get(id) as
      { content: Uint8Array | null } | undefined;
    if (row?.content == null) return undefined;
    const plain = aeadDecrypt(
      new Uint8Array(row.content),
      this.#vaultKey,
      encodeCanonical([CONTENT_AD_TAG, id]),
    );
    if (plain === undefined) {
      throw new KomradeError(
        'KEYSTORE_CORRUPT',
        'A waiting message in the bridge store cannot be opened: wrong master key, or the file was altered.',
      );
    }
    return plain;
  }

  markDelivered(id: string, surfaceRef: string | null): void {
    this.#db
      .prepare(
        `UPDATE deliveries SET state = 'delivered', surface_ref = ?, content = NULL WHERE id = ?`,
      )
      .run(surfaceRef, id);
  }

  markAcked(id: string, operatorIds: readonly string[]): void {
    this.#db.transaction(() => {
      const row = this.#db.prepare('SELECT operator_ids FROM deliveries WHERE id = ?').get(id) as
        { operator_ids: string } | undefined;
      if (row === undefined) return;
      const left = (JSON.parse(row.operator_ids) as string[]).filter(
        (o) => !operatorIds.includes(o),
      );
      this.#db
        .prepare('UPDATE deliveries SET operator_ids = ? WHERE id = ?')
        .run(JSON.stringify(left), id);
    })();
  }

  pendingDeliveries(identity?: string): Delivery[] {
    const rows = (
      identity === undefined
        ? this.#db
            .prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending'`)
            .all()
        : this.#db
            .prepare(
              `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE state = 'pending' AND identity = ?`,
            )
            .all(identity)
    ) as DeliveryRow[];
    return rows.map(toDelivery);
  }

  deliveryByRef(identity: string, surfaceRef: string): Delivery | undefined {
    const row = this.#db
      .prepare(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE identity = ? AND surface_ref = ?`)
      .get(identity, surfaceRef) as DeliveryRow | undefined;
    return row === undefined ? undefined : toDelivery(row);
  }

  addOutbox(
    rows: readonly NewOutboxRow[],
    handled?: { readonly event: string; readonly result: string },
  ): AddOutboxResult {
    const at = this.#now();
    return this.#db.transaction((): AddOutboxResult => {
      if (handled !== undefined && !this.recordEvent(handled.event, handled.result)) {
        const before = this.handledEvent(handled.event);
        if (before !== undefined) return { added: false, handled: before };
      }
      const insert = this.#db.prepare(
        `INSERT INTO outbox (${OUTBOX_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`,
      );
      const added = rows.map((row): OutboxRow => {
        const id = toBase64url(randomBytes(16));
        const event = handled?.event ?? null;
        insert.run(id, row.identity, row.kind, row.envelope, event, at);
        return {
          id,
          identity: row.identity,
          kind: row.kind,
          envelope: row.envelope,
          event,
          createdAt: at,
        };
      });
      return { added: true, rows: added };
    })();
  }

  outboxRow(id: string): OutboxRow | undefined {
    const row = this.#db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE id = ?`).get(id) as
      OutboxDbRow | undefined;
    return row === undefined ? undefined : toOutboxRow(row);
  }

  outboxRows(identity?: string): OutboxRow[] {
    const rows = (
      identity === undefined
        ? this.#db.prepare(`SELECT ${OUTBOX_COLUMNS} FROM outbox ORDER BY created_at, rowid`).all()
        : this.#db
            .prepare(
              `SELECT ${OUTBOX_COLUMNS} FROM outbox WHERE identity = ? ORDER BY created_at, rowid`,
            )
            .all(identity)
    ) as OutboxDbRow[];
    return rows.map(toOutboxRow);
  }

  updateOutboxEnvelope(id: string, envelope: string): void {
    this.#db.prepare('UPDATE outbox SET envelope = ? WHERE id = ?').run(envelope, id);
  }

  deleteOutbox(id: string): void {
    this.#db.prepare('DELETE FROM outbox WHERE id = ?').run(id);
  }

  recordEvent(event: string, result: string): boolean {
    // Sealed: a result may name who a letter went to.
    const sealed = aeadEncrypt(
      Buffer.from(result, 'utf8'),
      this.#vaultKey,
      encodeCanonical([EVENT_AD_TAG, event]),
    );
    return (
      this.#db
        .prepare(
          'INSERT INTO handled_events (event, result, at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING',
        )
        .run(event, sealed, this.#now()).changes > 0
    );
  }

  handledEvent(event: string): HandledEvent | undefined {
    const row = this.#db
      .prepare('SELECT event, result, answered, at FROM handled_events WHERE event = ?')
      .get(event) as EventDbRow | undefined;
    if (row === undefined) return undefined;
    const plain = aeadDecrypt(
      new Uint8Array(row.result),
      this.#vaultKey,
      encodeCanonical([EVENT_AD_TAG, event]),
    );
    if (plain === undefined) {
      throw new KomradeError(
        'KEYSTORE_CORRUPT',
        'A handled event in the bridge store cannot be opened: wrong master key, or the file was altered.',
      );
    }
    return {
      event: row.event,
      result: Buffer.from(plain).toString('utf8'),
      answered: row.answered !== 0,
      at: row.at,
    };
  }

  markEventAnswered(event: string): void {
    this.#db.prepare('UPDATE handled_events SET answered = 1 WHERE event = ?').run(event);
  }

  pruneEvents(before: number): number {
    return this.#db.prepare('DELETE FROM handled_events WHERE at < ?').run(before).changes;
  }

  legacyFollows(): { readonly identity: string; readonly names: readonly string[] }[] {
    const rows = this.#db
      .prepare('SELECT identity, name FROM follows ORDER BY identity, name')
      .all() as { identity: string; name: string }[];
    const byIdentity = new Map<string, string[]>();
    for (const { identity, name } of rows) {
      const names = byIdentity.get(identity) ?? [];
      names.push(name);
      byIdentity.set(identity, names);
    }
    return [...byIdentity].map(([identity, names]) => ({ identity, names }));
  }

  dropLegacyFollows(identity: string): void {
    this.#db.prepare('DELETE FROM follows WHERE identity = ?').run(identity);
  }

  close(): void {
    this.#vaultKey.fill(0);
    this.#lookupKey.fill(0);
    if (this.#db.open) this.#db.close();
  }
}
