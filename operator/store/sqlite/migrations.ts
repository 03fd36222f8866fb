/** Schema migrations, applied in order by `user_version`; never edit a shipped one, append. */
import type Database from 'better-sqlite3';
import { nameSkeleton } from '../../../common/wire/index.js';
import { appendExistingRegistrations } from './sqlite-registry-log.js';

/** Each entry moves the schema from version `index` to `index + 1`. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE komrades (
    name          TEXT    PRIMARY KEY,
    sign_key      BLOB    NOT NULL UNIQUE,
    box_key       BLOB    NOT NULL UNIQUE,
    registered_at INTEGER NOT NULL,
    sig           BLOB    NOT NULL
  ) STRICT;

  -- Deliberately no sender and no network address: only what delivery needs.
  CREATE TABLE letters (
    id          BLOB    NOT NULL UNIQUE,
    recipient   TEXT    NOT NULL REFERENCES komrades (name),
    sealed      BLOB    NOT NULL,
    received_at INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
  ) STRICT;
  CREATE INDEX letters_by_recipient ON letters (recipient);
  CREATE INDEX letters_by_expiry ON letters (expires_at);

  CREATE TABLE posts (
    id         BLOB    PRIMARY KEY,
    author     TEXT    NOT NULL REFERENCES komrades (name),
    posted_at  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    signed     BLOB    NOT NULL,
    sig        BLOB    NOT NULL
  ) STRICT;
  CREATE INDEX posts_by_time ON posts (posted_at, id);
  CREATE INDEX posts_by_expiry ON posts (expires_at);

  CREATE TABLE nonces (
    name       TEXT    NOT NULL,
    nonce      BLOB    NOT NULL,
    keep_until INTEGER NOT NULL,
    PRIMARY KEY (name, nonce)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX nonces_by_expiry ON nonces (keep_until);
  `,
  // 2: who holds each komrade's secret keys (part of the signed claim); earlier rows were 'self'.
  `
  ALTER TABLE komrades ADD COLUMN key_holder TEXT NOT NULL DEFAULT 'self'
    CHECK (key_holder IN ('self', 'telegram', 'discord'));
  `,
  // 3: collectives and their append-only logs; bodies stored once for many recipients' letters.
  `
  CREATE TABLE collectives (
    name       TEXT    PRIMARY KEY,
    created_at INTEGER NOT NULL
  ) STRICT;

  CREATE TABLE collective_events (
    collective TEXT    NOT NULL REFERENCES collectives (name),
    seq        INTEGER NOT NULL CHECK (seq >= 0),
    signed     BLOB    NOT NULL,
    sig        BLOB    NOT NULL,
    PRIMARY KEY (collective, seq)
  ) STRICT;
  -- A log is history: even a bug in the Operator cannot rewrite or drop an event.
  CREATE TRIGGER collective_events_append_only_update BEFORE UPDATE ON collective_events
    BEGIN SELECT RAISE(ABORT, 'collective events are append-only'); END;
  CREATE TRIGGER collective_events_append_only_delete BEFORE DELETE ON collective_events
    BEGIN SELECT RAISE(ABORT, 'collective events are append-only'); END;

  -- One namespace: a name is a komrade's or a collective's, never both.
  CREATE TRIGGER komrade_name_not_collective BEFORE INSERT ON komrades
    WHEN EXISTS (SELECT 1 FROM collectives WHERE name = NEW.name)
    BEGIN SELECT RAISE(ABORT, 'name belongs to a collective'); END;
  CREATE TRIGGER collective_name_not_komrade BEFORE INSERT ON collectives
    WHEN EXISTS (SELECT 1 FROM komrades WHERE name = NEW.name)
    BEGIN SELECT RAISE(ABORT, 'name belongs to a komrade'); END;

  -- A shared body, stored once; each recipient's letter holds its envelope and refers to it.
  CREATE TABLE letter_bodies (
    id         BLOB    PRIMARY KEY,
    sealed     BLOB    NOT NULL,
    expires_at INTEGER NOT NULL
  ) STRICT;
  ALTER TABLE letters ADD COLUMN body BLOB REFERENCES letter_bodies (id);
  CREATE INDEX letters_by_body ON letters (body) WHERE body IS NOT NULL;
  `,
  // 4: each name's look-alike skeleton (common/wire nameSkeleton), so no new name looks like one
  // already taken. Not unique: names registered before this rule may look alike, and both stay.
  // Should the skeleton rules ever change, append a migration that recomputes both columns.
  `
  ALTER TABLE komrades ADD COLUMN skeleton TEXT;
  UPDATE komrades SET skeleton = name_skeleton(name);
  CREATE INDEX komrades_by_skeleton ON komrades (skeleton);
  ALTER TABLE collectives ADD COLUMN skeleton TEXT;
  UPDATE collectives SET skeleton = name_skeleton(name);
  CREATE INDEX collectives_by_skeleton ON collectives (skeleton);

  -- The store checks first and says why; this holds even if a code path forgets to.
  CREATE TRIGGER komrade_skeleton_unused BEFORE INSERT ON komrades
    WHEN EXISTS (SELECT 1 FROM komrades WHERE skeleton = NEW.skeleton)
      OR EXISTS (SELECT 1 FROM collectives WHERE skeleton = NEW.skeleton)
    BEGIN SELECT RAISE(ABORT, 'name looks like a taken name'); END;
  CREATE TRIGGER collective_skeleton_unused BEFORE INSERT ON collectives
    WHEN EXISTS (SELECT 1 FROM komrades WHERE skeleton = NEW.skeleton)
      OR EXISTS (SELECT 1 FROM collectives WHERE skeleton = NEW.skeleton)
    BEGIN SELECT RAISE(ABORT, 'name looks like a taken name'); END;
  `,
  // 5: the key holder is an open label of a fixed shape (common/wire KEY_HOLDER_PATTERN), no
  // longer one of three: SQLite cannot drop a CHECK, so the table is rebuilt with every row, its
  // index and the triggers that read it. migrate() turns foreign keys off around it (letters and posts refer
  // to komrades) and checks them before committing.
  `
  CREATE TABLE komrades_with_open_label (
    name          TEXT    PRIMARY KEY,
    sign_key      BLOB    NOT NULL UNIQUE,
    box_key       BLOB    NOT NULL UNIQUE,
    registered_at INTEGER NOT NULL,
    sig           BLOB    NOT NULL,
    key_holder    TEXT    NOT NULL DEFAULT 'self' CHECK (
      length(key_holder) BETWEEN 2 AND 24
      AND key_holder GLOB '[a-z]*'
      AND key_holder NOT GLOB '*[^a-z0-9-]*'
    ),
    skeleton      TEXT
  ) STRICT;
  INSERT INTO komrades_with_open_label
      (name, sign_key, box_key, registered_at, sig, key_holder, skeleton)
    SELECT name, sign_key, box_key, registered_at, sig, key_holder, skeleton FROM komrades;
  -- The rename checks every trigger: those on collectives that read komrades go and come back.
  DROP TRIGGER collective_name_not_komrade;
  DROP TRIGGER collective_skeleton_unused;
  DROP TABLE komrades;
  ALTER TABLE komrades_with_open_label RENAME TO komrades;
  CREATE TRIGGER collective_name_not_komrade BEFORE INSERT ON collectives
    WHEN EXISTS (SELECT 1 FROM komrades WHERE name = NEW.name)
    BEGIN SELECT RAISE(ABORT, 'name belongs to a komrade'); END;
  CREATE TRIGGER collective_skeleton_unused BEFORE INSERT ON collectives
    WHEN EXISTS (SELECT 1 FROM komrades WHERE skeleton = NEW.skeleton)
      OR EXISTS (SELECT 1 FROM collectives WHERE skeleton = NEW.skeleton)
    BEGIN SELECT RAISE(ABORT, 'name looks like a taken name'); END;
  CREATE INDEX komrades_by_skeleton ON komrades (skeleton);
  CREATE TRIGGER komrade_name_not_collective BEFORE INSERT ON komrades
    WHEN EXISTS (SELECT 1 FROM collectives WHERE name = NEW.name)
    BEGIN SELECT RAISE(ABORT, 'name belongs to a collective'); END;
  CREATE TRIGGER komrade_skeleton_unused BEFORE INSERT ON komrades
    WHEN EXISTS (SELECT 1 FROM komrades WHERE skeleton = NEW.skeleton)
      OR EXISTS (SELECT 1 FROM collectives WHERE skeleton = NEW.skeleton)
    BEGIN SELECT RAISE(ABORT, 'name looks like a taken name'); END;
  `,
  // 6: anonymous tokens. Spent tokens: keyed by epoch and a hash of the token's input, with a
  // hash of the letter they paid for (recipient and sealed bytes: a retry must match it) and no
  // time beyond the epoch and nothing about who obtained them; WITHOUT ROWID, so their order on
  // disk is the hashes', not the order they were spent in. Issue counts: per name and epoch.
  // Both lose their rows once their epoch is over. Letters' times from before are rounded down
  // to the 10-minute step new letters are stored with.
  `
  CREATE TABLE spent_tokens (
    epoch       INTEGER NOT NULL CHECK (epoch >= 0),
    input_hash  BLOB    NOT NULL CHECK (length(input_hash) = 32),
    letter_hash BLOB    NOT NULL CHECK (length(letter_hash) = 32),
    letter      BLOB    NOT NULL,
    PRIMARY KEY (epoch, input_hash)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE token_allowances (
    name   TEXT    NOT NULL,
    epoch  INTEGER NOT NULL CHECK (epoch >= 0),
    issued INTEGER NOT NULL CHECK (issued >= 0),
    PRIMARY KEY (name, epoch)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX token_allowances_by_epoch ON token_allowances (epoch);

  UPDATE letters SET received_at = received_at - received_at % 600000;
  `,
  // 7: forward secrecy. Each komrade's ratchet identity key (libsignal's 33-byte Curve25519
  // serialization), NULL for names registered before, which add it once with a signed update;
  // unique like the other keys. Prekeys: one signed EC and one Kyber prekey per name (replaced
  // by an upload), one-time EC prekeys per (name, id), deleted when handed out. Hand-outs of
  // one-time prekeys are counted per name for the current hour only (the rate limit), and swept.
  `
  ALTER TABLE komrades ADD COLUMN ratchet_key BLOB
    CHECK (ratchet_key IS NULL OR (length(ratchet_key) = 33 AND substr(ratchet_key, 1, 1) = x'05'));
  CREATE UNIQUE INDEX komrades_by_ratchet_key ON komrades (ratchet_key)
    WHERE ratchet_key IS NOT NULL;

  CREATE TABLE signed_prekeys (
    name       TEXT    PRIMARY KEY REFERENCES komrades (name),
    id         INTEGER NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key BLOB    NOT NULL CHECK (length(public_key) = 33),
    signature  BLOB    NOT NULL CHECK (length(signature) = 64)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE kyber_prekeys (
    name       TEXT    PRIMARY KEY REFERENCES komrades (name),
    id         INTEGER NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key BLOB    NOT NULL CHECK (length(public_key) = 1569),
    signature  BLOB    NOT NULL CHECK (length(signature) = 64)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE one_time_prekeys (
    name       TEXT    NOT NULL REFERENCES komrades (name),
    id         INTEGER NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key BLOB    NOT NULL CHECK (length(public_key) = 33),
    PRIMARY KEY (name, id)
  ) STRICT, WITHOUT ROWID;

  CREATE TABLE prekey_handouts (
    name   TEXT    PRIMARY KEY REFERENCES komrades (name),
    hour   INTEGER NOT NULL CHECK (hour >= 0),
    handed INTEGER NOT NULL CHECK (handed >= 0)
  ) STRICT, WITHOUT ROWID;
  CREATE INDEX prekey_handouts_by_hour ON prekey_handouts (hour);
  `,
  // 8: the registry's transparency log. One row per leaf, its index from 0 with no gap, holding
  // the receipt it was made of (a name's first receipt stays here after a ratchet-key update
  // changes the komrades row) and its leaf hash; one row per complete perfect subtree above the
  // leaves (level ≥ 1), so proofs read O(log n) rows. Both append-only. MIGRATION_BACKFILLS[8]
  // then appends every registration already stored, in registration order.
  `
  CREATE TABLE registry_log (
    idx           INTEGER PRIMARY KEY CHECK (idx >= 0),
    name          TEXT    NOT NULL REFERENCES komrades (name),
    sign_key      BLOB    NOT NULL,
    box_key       BLOB    NOT NULL,
    key_holder    TEXT    NOT NULL,
    ratchet_key   BLOB,
    registered_at INTEGER NOT NULL,
    sig           BLOB    NOT NULL,
    leaf_hash     BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
  ) STRICT;
  CREATE INDEX registry_log_by_name ON registry_log (name, idx);

  CREATE TABLE registry_log_nodes (
    level INTEGER NOT NULL CHECK (level >= 1),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
  ) STRICT, WITHOUT ROWID;

  -- The index is the size at the append: even a bug cannot leave a gap or fill one later.
  CREATE TRIGGER registry_log_gapless BEFORE INSERT ON registry_log
    WHEN NEW.idx <> (SELECT COALESCE(MAX(idx) + 1, 0) FROM registry_log)
    BEGIN SELECT RAISE(ABORT, 'registry log indexes are gapless'); END;
  CREATE TRIGGER registry_log_append_only_update BEFORE UPDATE ON registry_log
    BEGIN SELECT RAISE(ABORT, 'the registry log is append-only'); END;
  CREATE TRIGGER registry_log_append_only_delete BEFORE DELETE ON registry_log
    BEGIN SELECT RAISE(ABORT, 'the registry log is append-only'); END;
  CREATE TRIGGER registry_log_nodes_append_only_update BEFORE UPDATE ON registry_log_nodes
    BEGIN SELECT RAISE(ABORT, 'the registry log is append-only'); END;
  CREATE TRIGGER registry_log_nodes_append_only_delete BEFORE DELETE ON registry_log_nodes
    BEGIN SELECT RAISE(ABORT, 'the registry log is append-only'); END;
  `,
];

/**
 * Steps that need code, not SQL alone, by the version they belong to: each runs right after that
 * migration's SQL, in its transaction. (MIGRATIONS stays plain SQL: tests build old databases
 * from it.)
 */
export const MIGRATION_BACKFILLS: ReadonlyMap<number, (db: Database.Database) => void> = new Map([
  [8, appendExistingRegistrations],
]);

/**
 * Brings the database to the latest schema, each step in its own transaction.
 * @throws Error when the database is newer than this code
 */
export function migrate(db: Database.Database): void {
  // Migration 4 backfills skeletons with the same function the store checks new names with.
  db.function('name_skeleton', { deterministic: true }, (name: unknown) =>
    typeof name === 'string' ? nameSkeleton(name) : null,
  );
  const current = db.pragma('user_version', { simple: true }) as number;
  if (current > MIGRATIONS.length) {
    throw new Error(
      `database schema version ${current} is newer than this Operator (${MIGRATIONS.length})`,
    );
  }
  if (current === MIGRATIONS.length) return;
  // A table rebuild drops a table others refer to: SQLite's own procedure turns foreign keys off
  // (outside any transaction), then checks them before each commit.
  const foreignKeys = db.pragma('foreign_keys', { simple: true }) as number;
  db.pragma('foreign_keys = OFF');
  try {
    for (let version = current; version < MIGRATIONS.length; version++) {
      const sql = MIGRATIONS[version];
      if (sql === undefined) continue;
      db.transaction(() => {
        db.exec(sql);
        MIGRATION_BACKFILLS.get(version + 1)?.(db);
        if ((db.pragma('foreign_key_check') as unknown[]).length > 0) {
          throw new Error(`migration ${version + 1} would break a foreign key`);
        }
        db.pragma(`user_version = ${version + 1}`);
      }).immediate();
    }
  } finally {
    db.pragma(`foreign_keys = ${foreignKeys === 1 ? 'ON' : 'OFF'}`);
  }
}
