/** Writing a secret file so that nobody ever sees it half-written, and a crash leaves old or new. */
import { closeSync, fsyncSync, linkSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from '../../common/crypto/index.js';

/** Options for {@link writeFileAtomically}. */
export interface AtomicWriteOptions {
  /**
   * Replace an existing file (rename over it). When false the write fails with the `EEXIST`
   * system error instead, even for a file that appeared meanwhile (a hard link never replaces).
   */
  readonly replace: boolean;
}

/**
 * Writes `contents` to `path` with mode 0600: a temp file beside it, fsync, then link (new) or
 * rename (replace) to the final name, then fsync of the folder. A crash at any point leaves
 * either the old file or the new one at `path`, never a mix or nothing.
 * @throws the system error (`EEXIST` when the file exists and `replace` is false)
 */
export function writeFileAtomically(
  path: string,
  contents: string | Uint8Array,
  options: AtomicWriteOptions,
): void {
  const temp = join(
    dirname(path),
    `.${basename(path)}.${Buffer.from(randomBytes(6)).toString('hex')}.tmp`,
  );
  const fd = openSync(temp, 'wx', 0o600);
  try {
    try {
      const bytes = typeof contents === 'string' ? Buffer.from(contents, 'utf8') : contents;
      for (let at = 0; at < bytes.length;) at += writeSync(fd, bytes, at);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (options.replace) renameSync(temp, path);
    else linkSync(temp, path);
  } finally {
    rmSync(temp, { force: true });
  }
  syncFolder(dirname(path));
}

/** Persists a folder's entries (new names); folders cannot be opened on Windows, so best effort. */
export function syncFolder(folder: string): void {
  try {
    const dir = openSync(folder, 'r');
    try {
      fsyncSync(dir);
    } finally {
      closeSync(dir);
    }
  } catch {
    // Best effort: the file itself is already on disk.
  }
}
