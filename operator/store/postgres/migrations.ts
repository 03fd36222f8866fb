/**
 * The PostgreSQL schema, versioned in `komrade_schema`; never edit a shipped step, append one.
 * Several Operators may start at once on one database: {@link migratePostgres} applies every
 * missing step in one transaction under an advisory lock, so exactly one of them migrates and the
 * others find the schema current.
 */
import type pg from 'pg';

/** Key of the transaction-scoped advisory lock held while migrating (any constant, shared). */
export const MIGRATION_LOCK = 0x6b6d7264; // 'kmrd'

/** Class id of the advisory locks taken per name skeleton (look-alike check and insert). */
export const SKELETON_LOCK_CLASS = 0x6b6d736b; // 'kmsk'

/** Each entry moves the schema from version `index` to `index + 1`. */
export const POSTGRES_MIGRATIONS: readonly string[] = [
  // 1: everything the SQLite store holds after its seventh step, and the registry's log. Times are
  // milliseconds since the epoch (bigint); names are folded canonical names.
  `
  CREATE TABLE komrades (
    name          text   PRIMARY KEY,
    sign_key      bytea  NOT NULL UNIQUE,
    box_key       bytea  NOT NULL UNIQUE,
    key_holder    text   NOT NULL CHECK (key_holder ~ '^[a-z][a-z0-9-]{1,23}$'),
    ratchet_key   bytea  UNIQUE
      CHECK (ratchet_key IS NULL OR (length(ratchet_key) = 33 AND get_byte(ratchet_key, 0) = 5)),
    registered_at bigint NOT NULL,
    sig           bytea  NOT NULL,
    -- common/wire nameSkeleton: not unique (names registered before that rule keep look-alikes).
    skeleton      text   NOT NULL
  );
  CREATE INDEX komrades_by_skeleton ON komrades (skeleton);

  CREATE TABLE collectives (
    name       text   PRIMARY KEY,
    created_at bigint NOT NULL,
    skeleton   text   NOT NULL
  );
  CREATE INDEX collectives_by_skeleton ON collectives (skeleton);

  -- One namespace, no new look-alikes: the store checks first and says why; these triggers hold
  -- even if a code path forgets to. They take the skeleton's advisory lock before looking, so two
  -- transactions inserting look-alikes at once are serialized (READ COMMITTED: the look after the
  -- lock sees the other's committed row).
  CREATE FUNCTION komrade_name_free() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    PERFORM pg_advisory_xact_lock(${SKELETON_LOCK_CLASS}, hashtext(NEW.skeleton));
    IF EXISTS (SELECT 1 FROM komrades WHERE skeleton = NEW.skeleton OR name = NEW.name)
       OR EXISTS (SELECT 1 FROM collectives WHERE skeleton = NEW.skeleton OR name = NEW.name) THEN
      RAISE EXCEPTION 'name or a look-alike is taken' USING ERRCODE = 'unique_violation';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER komrades_name_free BEFORE INSERT ON komrades
    FOR EACH ROW EXECUTE FUNCTION komrade_name_free();
  CREATE TRIGGER collectives_name_free BEFORE INSERT ON collectives
    FOR EACH ROW EXECUTE FUNCTION komrade_name_free();

  CREATE TABLE collective_events (
    collective text   NOT NULL REFERENCES collectives (name),
    seq        bigint NOT NULL CHECK (seq >= 0),
    signed     bytea  NOT NULL,
    sig        bytea  NOT NULL,
    PRIMARY KEY (collective, seq)
  );
  -- A log is history: even a bug in the Operator cannot rewrite or drop an event.
  CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
  END $$;
  CREATE TRIGGER collective_events_append_only BEFORE UPDATE OR DELETE ON collective_events
    FOR EACH ROW EXECUTE FUNCTION append_only();
  CREATE TRIGGER collective_events_no_truncate BEFORE TRUNCATE ON collective_events
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();

  -- A shared body, stored once; each recipient's letter holds its envelope and refers to it.
  CREATE TABLE letter_bodies (
    id         bytea  PRIMARY KEY,
    sealed     bytea  NOT NULL,
    expires_at bigint NOT NULL
  );

  -- Deliberately no sender and no network address: only what delivery needs. seq orders a
  -- mailbox oldest first (SQLite's rowid).
  CREATE TABLE letters (
    seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id          bytea  NOT NULL UNIQUE,
    recipient   text   NOT NULL REFERENCES komrades (name),
    sealed      bytea  NOT NULL,
    received_at bigint NOT NULL,
    expires_at  bigint NOT NULL,
    body        bytea  REFERENCES letter_bodies (id)
  );
  CREATE INDEX letters_by_recipient ON letters (recipient, seq);
  CREATE INDEX letters_by_expiry ON letters (expires_at);
  CREATE INDEX letters_by_body ON letters (body) WHERE body IS NOT NULL;
  -- Sealed bytes over about 2 kB live in the tables' TOAST relations, the rest in the heap:
  -- a delete leaves them in either until the page is reused (see docs/security.md).

  CREATE TABLE posts (
    id         bytea  PRIMARY KEY,
    author     text   NOT NULL REFERENCES komrades (name),
    posted_at  bigint NOT NULL,
    expires_at bigint NOT NULL,
    signed     bytea  NOT NULL,
    sig        bytea  NOT NULL
  );
  CREATE INDEX posts_by_time ON posts (posted_at, id);
  CREATE INDEX posts_by_expiry ON posts (expires_at);

  CREATE TABLE nonces (
    name       text   NOT NULL,
    nonce      bytea  NOT NULL,
    keep_until bigint NOT NULL,
    PRIMARY KEY (name, nonce)
  );
  CREATE INDEX nonces_by_expiry ON nonces (keep_until);

  -- Spent tokens: hashes only, nothing about who obtained them; gone with their epoch.
  CREATE TABLE spent_tokens (
    epoch       bigint NOT NULL CHECK (epoch >= 0),
    input_hash  bytea  NOT NULL CHECK (length(input_hash) = 32),
    letter_hash bytea  NOT NULL CHECK (length(letter_hash) = 32),
    letter      bytea  NOT NULL,
    PRIMARY KEY (epoch, input_hash)
  );

  CREATE TABLE token_allowances (
    name   text   NOT NULL,
    epoch  bigint NOT NULL CHECK (epoch >= 0),
    issued bigint NOT NULL CHECK (issued >= 0),
    PRIMARY KEY (name, epoch)
  );
  CREATE INDEX token_allowances_by_epoch ON token_allowances (epoch);

  CREATE TABLE signed_prekeys (
    name       text    PRIMARY KEY REFERENCES komrades (name),
    id         integer NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key bytea   NOT NULL CHECK (length(public_key) = 33),
    signature  bytea   NOT NULL CHECK (length(signature) = 64)
  );

  CREATE TABLE kyber_prekeys (
    name       text    PRIMARY KEY REFERENCES komrades (name),
    id         integer NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key bytea   NOT NULL CHECK (length(public_key) = 1569),
    signature  bytea   NOT NULL CHECK (length(signature) = 64)
  );

  CREATE TABLE one_time_prekeys (
    name       text    NOT NULL REFERENCES komrades (name),
    id         integer NOT NULL CHECK (id BETWEEN 1 AND 2147483647),
    public_key bytea   NOT NULL CHECK (length(public_key) = 33),
    PRIMARY KEY (name, id)
  );

  CREATE TABLE prekey_handouts (
    name   text   PRIMARY KEY REFERENCES komrades (name),
    hour   bigint NOT NULL CHECK (hour >= 0),
    handed bigint NOT NULL CHECK (handed >= 0)
  );
  CREATE INDEX prekey_handouts_by_hour ON prekey_handouts (hour);

  -- The registry's transparency log. One row holds its size: appends lock it, so indexes are
  -- gapless and in commit order. Each leaf keeps the receipt it vouches for; log_nodes keeps every
  -- complete subtree's hash (level 0: leaf hashes), so roots and proofs read O(log² n) rows.
  CREATE TABLE registry_log_size (
    one  boolean PRIMARY KEY DEFAULT true CHECK (one),
    size bigint  NOT NULL CHECK (size >= 0)
  );
  INSERT INTO registry_log_size (size) VALUES (0);
  CREATE TABLE registry_log (
    idx           bigint PRIMARY KEY CHECK (idx >= 0),
    name          text   NOT NULL REFERENCES komrades (name),
    sign_key      bytea  NOT NULL,
    box_key       bytea  NOT NULL,
    key_holder    text   NOT NULL,
    ratchet_key   bytea,
    registered_at bigint NOT NULL,
    sig           bytea  NOT NULL
  );
  CREATE INDEX registry_log_by_name ON registry_log (name, idx);
  CREATE TABLE registry_log_nodes (
    level smallint NOT NULL CHECK (level >= 0),
    idx   bigint   NOT NULL CHECK (idx >= 0),
    hash  bytea    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
  );
  -- The index is the size the append set, under the size row's lock: even a bug cannot leave a
  -- gap or fill one later.
  CREATE FUNCTION registry_log_gapless() RETURNS trigger LANGUAGE plpgsql AS $$
  BEGIN
    IF NEW.idx <> (SELECT size - 1 FROM registry_log_size) THEN
      RAISE EXCEPTION 'registry log indexes are gapless';
    END IF;
    RETURN NEW;
  END $$;
  CREATE TRIGGER registry_log_gapless BEFORE INSERT ON registry_log
    FOR EACH ROW EXECUTE FUNCTION registry_log_gapless();
  CREATE TRIGGER registry_log_append_only BEFORE UPDATE OR DELETE ON registry_log
    FOR EACH ROW EXECUTE FUNCTION append_only();
  CREATE TRIGGER registry_log_nodes_append_only BEFORE UPDATE OR DELETE ON registry_log_nodes
    FOR EACH ROW EXECUTE FUNCTION append_only();
  CREATE TRIGGER registry_log_no_truncate BEFORE TRUNCATE ON registry_log
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
  CREATE TRIGGER registry_log_nodes_no_truncate BEFORE TRUNCATE ON registry_log_nodes
    FOR EACH STATEMENT EXECUTE FUNCTION append_only();
  `,
];

/**
 * Brings the database to the latest schema: every missing step in one transaction, under an
 * advisory lock, so Operators starting together migrate once and none sees a half-made schema.
 * @throws Error when the database is newer than this code
 */
export async function migratePostgres(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
    await client.query(
      `CREATE TABLE IF NOT EXISTS komrade_schema (
         version    integer     PRIMARY KEY,
         applied_at timestamptz NOT NULL DEFAULT now()
       )`,
    );
    const { rows } = await client.query<{ version: number | null }>(
      'SELECT max(version) AS version FROM komrade_schema',
    );
    const current = rows[0]?.version ?? 0;
    if (current > POSTGRES_MIGRATIONS.length) {
      throw new Error(
        `database schema version ${current} is newer than this Operator (${POSTGRES_MIGRATIONS.length})`,
      );
    }
    for (let version = current; version < POSTGRES_MIGRATIONS.length; version++) {
      const sql = POSTGRES_MIGRATIONS[version];
      if (sql === undefined) continue;
      await client.query(sql);
      await client.query('INSERT INTO komrade_schema (version) VALUES ($1)', [version + 1]);
    }
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}
