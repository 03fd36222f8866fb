/**
 * An attacker's reading of a stolen SQLite file with its write-ahead log: every commit still in
 * the WAL is an earlier state of the database, and a prefix of the WAL up to a commit frame is a
 * valid WAL (its checksums chain from the start), so SQLite opens the file as it was then.
 */
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const WAL_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 24;

/**
 * Writes one copy of `dbPath` per state it still holds into `outDir`, oldest first: the main file
 * alone (as of the last checkpoint), then the file with its WAL cut after each commit; returns
 * their paths.
 */
export function walSnapshots(dbPath: string, outDir: string, label: string): string[] {
  const alone = join(outDir, `${label}-file.db`);
  copyFileSync(dbPath, alone);
  rmSync(`${alone}-wal`, { force: true });
  rmSync(`${alone}-shm`, { force: true });
  const paths: string[] = [alone];
  let wal: Buffer;
  try {
    wal = readFileSync(`${dbPath}-wal`);
  } catch {
    return paths;
  }
  if (wal.length < WAL_HEADER_BYTES) return paths;
  const pageSize = wal.readUInt32BE(8);
  const frameBytes = FRAME_HEADER_BYTES + pageSize;
  for (let end = WAL_HEADER_BYTES + frameBytes; end <= wal.length; end += frameBytes) {
    // The frame header's second word is the database size after a commit, 0 inside a transaction.
    const frame = end - frameBytes;
    if (wal.readUInt32BE(frame + 4) === 0) continue;
    const path = join(outDir, `${label}-${paths.length}.db`);
    copyFileSync(dbPath, path);
    writeFileSync(`${path}-wal`, wal.subarray(0, end));
    rmSync(`${path}-shm`, { force: true });
    paths.push(path);
  }
  return paths;
}
