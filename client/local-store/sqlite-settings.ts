/** The local store's key-value settings table and its write-ahead log, shared by its parts. */
import type Database from 'better-sqlite3';

/** The value of a setting, or `undefined`. */
export function readSetting(db: Database.Database, key: string): unknown {
  const row = db.prepare('SELECT value FROM settings WHERE key = ?').get(key) as
    { value: unknown } | undefined;
  return row?.value;
}

/** Sets (inserts or replaces) a setting. */
export function writeSetting(
  db: Database.Database,
  key: string,
  value: string | number | Uint8Array,
): void {
  db.prepare(
    'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
  ).run(key, value);
}

/**
 * Leaves deleted or superseded rows in no file: secure_delete zeroes them in the database file,
 * and a truncating checkpoint empties the write-ahead log, whose old frames would otherwise still
 * hold them (earlier session states, opened and deleted letters) for anyone with the storage key.
 */
export function emptyWal(db: Database.Database): void {
  db.pragma('wal_checkpoint(TRUNCATE)');
}
