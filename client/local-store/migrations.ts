/** The local store's schema, as numbered migrations (PRAGMA user_version counts the applied ones). */

/** Each entry moves the schema one version up; never edit an entry once released. */
export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value ANY NOT NULL
  ) STRICT;
  CREATE TABLE receipts (
    name TEXT PRIMARY KEY,
    sign_key BLOB NOT NULL,
    box_key BLOB NOT NULL,
    registered_at INTEGER NOT NULL,
    sig BLOB NOT NULL
  ) STRICT;
  CREATE TABLE contacts (
    name TEXT PRIMARY KEY,
    state TEXT NOT NULL CHECK (state IN ('accepted', 'blocked')),
    updated_at INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE letters (
    sender TEXT NOT NULL,
    letter_id BLOB NOT NULL,
    folder TEXT NOT NULL CHECK (folder IN ('inbox', 'request')),
    received_at INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (sender, letter_id)
  ) STRICT;
  CREATE INDEX letters_by_folder ON letters (folder, received_at);
  `,
  // 2: followers (komrades whose follow letter verified) and the komrades this identity follows.
  `
  CREATE TABLE followers (
    name TEXT PRIMARY KEY,
    since INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE following (
    name TEXT PRIMARY KEY,
    since INTEGER NOT NULL
  ) STRICT;
  `,
  // 3: who holds each komrade's keys, from their receipt. Receipts cached before it have NULL and
  // are treated as not cached (fetched again), since their signature does not cover the holder.
  `
  ALTER TABLE receipts ADD COLUMN key_holder TEXT;
  `,
  // 4: collectives: the ones this identity is in or asked to join, each one's verified log (events
  // encrypted, since they say who vouched for whom) and its messages (encrypted like letters).
  `
  CREATE TABLE collectives (
    name TEXT PRIMARY KEY,
    since INTEGER NOT NULL
  ) STRICT;
  CREATE TABLE collective_events (
    collective TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (collective, seq)
  ) STRICT;
  CREATE TABLE collective_messages (
    collective TEXT NOT NULL,
    sender TEXT NOT NULL,
    message_id BLOB NOT NULL,
    received_at INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (collective, sender, message_id)
  ) STRICT;
  CREATE INDEX collective_messages_by_time ON collective_messages (collective, received_at);
  `,
  // 5: ids of letters already processed (a second delivery is never processed again), pruned by
  // their sentAt after PROCESSED_LETTER_RETENTION_MS; and each komrade's newest follow statement,
  // so an older one delivered late cannot undo it. letter_id NULL: a local decision (a block).
  `
  CREATE TABLE processed_letters (
    sender TEXT NOT NULL,
    letter_id BLOB NOT NULL,
    sent_at INTEGER NOT NULL,
    PRIMARY KEY (sender, letter_id)
  ) STRICT;
  CREATE INDEX processed_letters_by_age ON processed_letters (sent_at);
  CREATE TABLE follow_statements (
    name TEXT PRIMARY KEY,
    follows INTEGER NOT NULL CHECK (follows IN (0, 1)),
    sent_at INTEGER NOT NULL,
    letter_id BLOB
  ) STRICT;
  `,
  // 6: anonymous tokens (bearer credentials: input and output encrypted under the storage key).
  // `reserved_for` holds a hash of the letter a token is about to pay for, so a retried send pays
  // with the same token (the Operator answers an identical retry once); the row goes once spent.
  `
  CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    epoch INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    reserved_for BLOB UNIQUE
  ) STRICT;
  CREATE INDEX tokens_by_epoch ON tokens (epoch);
  `,
  // 7: forward secrecy. The ratchet identity key of cached receipts; libsignal session records,
  // own prekeys' secret halves and opened letters (encrypted under the storage key, bound to their
  // row); spent one-time prekey ids, last-resort Kyber uses and the digests of first messages
  // opened (a replayed first message is refused even once its session is gone); when a reset
  // letter last went to each peer (rate limit).
  `
  ALTER TABLE receipts ADD COLUMN ratchet_key BLOB;
  CREATE TABLE ratchet_sessions (
    peer TEXT PRIMARY KEY,
    sealed BLOB NOT NULL
  ) STRICT;
  CREATE TABLE ratchet_prekeys (
    kind TEXT NOT NULL CHECK (kind IN ('one-time', 'signed', 'kyber')),
    id INTEGER NOT NULL,
    sealed BLOB NOT NULL,
    PRIMARY KEY (kind, id)
  ) STRICT;
  CREATE TABLE ratchet_spent_one_time (id INTEGER PRIMARY KEY) STRICT;
  CREATE TABLE ratchet_kyber_uses (
    kyber_id INTEGER NOT NULL,
    signed_id INTEGER NOT NULL,
    base_key BLOB NOT NULL,
    PRIMARY KEY (kyber_id, signed_id, base_key)
  ) STRICT;
  CREATE TABLE ratchet_opened (
    operator_id BLOB PRIMARY KEY,
    digest BLOB NOT NULL,
    sealed BLOB NOT NULL,
    reset INTEGER NOT NULL CHECK (reset IN (0, 1))
  ) STRICT;
  CREATE TABLE ratchet_first_seen (digest BLOB PRIMARY KEY) STRICT;
  CREATE TABLE ratchet_resets (
    peer TEXT PRIMARY KEY,
    at INTEGER NOT NULL
  ) STRICT;
  `,
];
