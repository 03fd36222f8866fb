/** Taking a consistent copy of a local SQLite store for a backup, and putting one back. */
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { randomBytes } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { writeFileAtomically } from '../keystore/atomic-file.js';

const SQLITE_MAGIC = new TextEncoder().encode('SQLite format 3\0');

/**
 * A consistent image of the SQLite file at `path`, even while another process uses it:
 * `VACUUM INTO` a private temp file beside it (a raw copy could catch a half-applied WAL), its
 * anonymous tokens removed, read back, then removed.
 */
export function snapshotLocalStore(path: string): Uint8Array {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${Buffer.from(randomBytes(6)).toString('hex')}.snapshot`,
  );
  // VACUUM INTO accepts an empty file: creating it first keeps the copy at mode 0600.
  closeSync(openSync(temp, 'wx', 0o600));
  try {
    const db = new Database(path, { fileMustExist: true });
    try {
      db.prepare('VACUUM INTO ?').run(temp);
    } finally {
      db.close();
    }
    withoutTokens(temp);
    return new Uint8Array(readFileSync(temp));
  } finally {
    rmSync(temp, { force: true });
  }
}

/**
 * Removes the anonymous tokens from a store copy: a restored copy would hold tokens the original
 * goes on spending (each then refused as spent), and a backup is better without bearer
 * credentials. Deleted with secure_delete, then vacuumed, so no freed page keeps them.
 */
function withoutTokens(path: string): void {
  const db = new Database(path, { fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tokens'")
      .get();
    if (table === undefined) return;
    db.pragma('secure_delete = ON');
    db.exec("DELETE FROM tokens; DELETE FROM settings WHERE key = 'tokens.left'; VACUUM;");
  } finally {
    db.close();
  }
}

/**
 * Writes a restored store image to `path` (mode 0600, atomically), never over an existing file.
 * @throws `BACKUP_INVALID` when `image` is not an SQLite database; `KEYSTORE_EXISTS` when `path`
 * exists
 */
export function writeLocalStoreImage(path: string, image: Uint8Array): void {
  if (image.length < 512 || !SQLITE_MAGIC.every((byte, i) => image[i] === byte)) {
    throw new KomradeError('BACKUP_INVALID', 'The local store in the backup is not a database.');
  }
  try {
    writeFileAtomically(path, image, { replace: false });
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'EEXIST') {
      throw new KomradeError('KEYSTORE_EXISTS', `A local store already exists at ${path}.`, {
        cause,
      });
    }
    throw cause;
  }
}

/**
 * Writes a sealed backup to `path` (mode 0600, atomically).
 * @param replace - `--force`: replace an existing file
 * @throws `USAGE` when the file exists and `replace` is false, or its folder is missing or
 * not writable
 */
export function writeBackupFile(path: string, sealed: Uint8Array, replace: boolean): void {
  try {
    writeFileAtomically(path, sealed, { replace });
  } catch (cause) {
    if ((cause as { code?: unknown }).code === 'EEXIST') {
      throw new KomradeError(
        'USAGE',
        `${path} already exists and was not touched; choose another file or pass --force to replace it.`,
        { cause },
      );
    }
    const code = (cause as { code?: unknown }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'EACCES' || code === 'EROFS') {
      throw new KomradeError(
        'USAGE',
        `Cannot write ${path} (${code}): choose a folder you can write to.`,
        {
          cause,
        },
      );
    }
    throw cause;
  }
}
