/**
 * What a copy of the Operator's disk holds: every table of its SQLite store read directly (the WAL
 * included: a read sees committed frames not yet checkpointed), and the raw bytes of its files.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { DiskSnapshot } from './observation.js';

/** The SQLite files of a data folder (`*.db`). */
function databases(dataDir: string): string[] {
  return readdirSync(dataDir)
    .filter((name) => name.endsWith('.db'))
    .map((name) => join(dataDir, name));
}

/**
 * Reads every table of every `*.db` in `dataDir` while the Operator runs (a read-only connection;
 * WAL mode lets it read beside the Operator's writer). Tables are keyed `file:table`.
 */
export function snapshotDisk(dataDir: string): DiskSnapshot {
  const tables: Record<string, Record<string, unknown>[]> = {};
  for (const file of databases(dataDir)) {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      db.pragma('busy_timeout = 2000');
      const read = db.transaction(() => {
        const names = db
          .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
          )
          .pluck()
          .all() as string[];
        for (const name of names) {
          const quoted = `"${name.replace(/"/g, '""')}"`;
          tables[`${file.slice(dataDir.length + 1)}:${name}`] = db
            .prepare(`SELECT * FROM ${quoted}`)
            .all() as Record<string, unknown>[];
        }
      });
      read();
    } finally {
      db.close();
    }
  }
  return { takenAt: Date.now(), tables };
}

/** The bytes of every regular file under `dataDir` (keys, databases, their WAL), by relative path. */
export function readDataFiles(dataDir: string, prefix = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  for (const name of readdirSync(dataDir)) {
    const path = join(dataDir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) Object.assign(out, readDataFiles(path, `${prefix}${name}/`));
    else if (stat.isFile()) out[`${prefix}${name}`] = readFileSync(path);
  }
  return out;
}
