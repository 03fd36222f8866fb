/** Writing small secret files so that a crash leaves either the old or the new file, never half. */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';

/** Writes `data` to a 0600 temporary file, fsyncs it, and renames it over `path`. */
export function writeFileDurably(path: string, data: Uint8Array | string): void {
  const temp = `${path}.${toBase64url(randomBytes(6))}.tmp`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The file's bytes, or `undefined` when it does not exist. */
export function readIfExists(path: string): Buffer | undefined {
  try {
    return readFileSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}
