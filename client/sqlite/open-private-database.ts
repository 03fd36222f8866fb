/** Opens a bridge SQLite file the way every bridge store wants it. */
import { closeSync, openSync } from 'node:fs';
import Database from 'better-sqlite3';

/**
 * Opens (creating when absent) an SQLite file: private from the start (mode 0600, which SQLite
 * gives -wal/-shm too), WAL, synchronous=FULL (what is recorded before a letter is acknowledged
 * at the Operator must survive power loss) and secure_delete (deleted rows are overwritten).
 * @param path - the file, or `:memory:`
 */
export function openPrivateDatabase(path: string): Database.Database {
  if (path !== ':memory:') closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('secure_delete = ON');
  return db;
}
