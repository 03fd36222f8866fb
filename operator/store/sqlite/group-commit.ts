/**
 * Group commit: writes made within one event-loop turn share one transaction, committed by a
 * `setImmediate`. Callers await {@link GroupCommit.barrier} before answering anyone.
 *
 * Durability is reached off the event loop: the connection runs `synchronous = NORMAL`, so in WAL
 * mode COMMIT only writes the turn's frames (no fsync), and the turn's barrier resolves once an
 * `fdatasync` of the `-wal` file, run on libuv's thread pool and started after that COMMIT,
 * returns. At most one such sync is in flight; the turns that commit meanwhile share the next.
 *
 * A turn that deleted content is scrubbed (WAL checkpoint + truncate) before its barrier resolves,
 * so once an ack is answered no file holds the deleted bytes. Its frames are synced first, off the
 * loop like any turn's, so the checkpoint's own sync of the WAL (on the loop) finds little left to
 * write; and the deleting turns whose syncs ended by then share one scrub.
 */
import { closeSync, fdatasync, openSync } from 'node:fs';
import type Database from 'better-sqlite3';

interface Pending {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  /** Something was deleted: scrub the WAL after commit so deleted bytes leave the disk too. */
  scrub: boolean;
}

const SETTLED = Promise.resolve();

function pending(): Pending {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // Every writer awaits this promise; the no-op only keeps a failure with no waiter from crashing.
  promise.catch(() => undefined);
  return { promise, resolve, reject, scrub: false };
}

/**
 * Copies the WAL into the database file and truncates it to zero bytes. With `secure_delete`
 * on, the pages a delete wrote are zeroed where the row was, so after this neither the `.db` nor
 * the `-wal` holds deleted bytes (the `-shm` holds only page numbers, never content).
 * @returns false when another connection kept the checkpoint from finishing (nothing is lost)
 * @throws whatever SQLite throws (e.g. an I/O error)
 */
export function scrubWal(db: Database.Database): boolean {
  const [result] = db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number; log: number }[];
  return result?.busy === 0 && result.log === 0;
}

/** How long after a failed scrub (another reader, a busy disk) it is tried again. */
export const DEFAULT_SCRUB_RETRY_MS = 200;

/*
 * Why an answered write survives power loss, not only SIGKILL (which cannot be tested here):
 * - COMMIT with `synchronous = NORMAL` write()s the turn's WAL frames (and, when the WAL restarts
 *   after a checkpoint, its new header) into the page cache; a SIGKILL cannot lose them from there.
 * - `fdatasync` flushes every dirty page of the file's inode and its size, whichever descriptor
 *   wrote them, so once a sync started after the COMMIT returns, those frames are on stable storage
 *   and SQLite's WAL recovery replays them after a power loss. No barrier resolves before that.
 * - A turn that commits while a sync is in flight is not covered by it (that sync may carry some of
 *   its frames, but nothing proves all); it waits for the next sync, started after its COMMIT.
 * - A writer restarts the WAL (overwriting old frames from offset 0, new header, new salts) only
 *   after a checkpoint copied every frame into the database and synced it; WAL recovery ignores
 *   frames whose salts or checksums do not match, so a torn restart loses only unanswered turns.
 * - SQLite never replaces the `-wal` while this connection has the database open: a restart
 *   overwrites it in place, a TRUNCATE checkpoint truncates it in place, and only the last
 *   connection's close deletes it. So the descriptor opened here names the file SQLite writes.
 *   SQLite takes no lock on the `-wal` (its locks are on the `.db` and `-shm`), so this descriptor
 *   cannot release one when it closes.
 * - A checkpoint syncs the WAL before copying frames into the database and the database before it
 *   records them as copied, and a TRUNCATE succeeds only once every frame is copied: after a
 *   successful scrub every committed turn is durable without a sync of its own.
 * - A failed sync is final: Linux may drop the unwritten pages and report success on a later sync,
 *   and WAL recovery stops at the first bad frame, losing the turns after it too. So from then on
 *   no barrier resolves; the Operator must be restarted (recovery reads what is really on disk).
 */

/** Batches the writes of one turn into one transaction on a single better-sqlite3 connection. */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #walFile: string;
  readonly #savepoint: Database.Statement;
  readonly #release: Database.Statement;
  readonly #rollbackTo: Database.Statement;
  readonly #scrubRetryMs: number;
  #pending: Pending | undefined;
  /** The last committed turn's barrier: a later sync or scrub also covers every earlier turn. */
  #lastCommitted: Promise<void> = SETTLED;
  /** Committed turns waiting for a sync of the WAL (a scrub, if one runs first, also does). */
  #unsynced: Pending[] = [];
  /** Synced turns that deleted something, waiting for a scrub. */
  #scrubWaiters: Pending[] = [];
  /** The sync in flight on the thread pool, if any; it settles once its turns are settled. */
  #syncing: Promise<void> | undefined;
  /** Opened at the first sync: a transaction has run, so SQLite has created and opened it. */
  #walFd: number | undefined;
  #failure: Error | undefined;
  #closed = false;
  #retryTimer: NodeJS.Timeout | undefined;

  /**
   * @param db - a connection in WAL mode, `synchronous` NORMAL (or FULL), on a file
   * @param scrubRetryMs - wait before retrying a scrub that could not finish; the barriers of
   * the turns that deleted something stay pending until one does
   * @throws Error when the connection is not in WAL mode or does not sync at all
   */
  constructor(db: Database.Database, scrubRetryMs = DEFAULT_SCRUB_RETRY_MS) {
    if (db.pragma('journal_mode', { simple: true }) !== 'wal') {
      throw new Error('group commit needs a database in WAL mode');
    }
    // OFF would also skip the checkpoint's syncs, which the scrub relies on for durability.
    if (db.pragma('synchronous', { simple: true }) === 0) {
      throw new Error('group commit needs synchronous = NORMAL or FULL');
    }
    this.#db = db;
    this.#walFile = `${db.name}-wal`;
    this.#scrubRetryMs = scrubRetryMs;
    this.#savepoint = db.prepare('SAVEPOINT step');
    this.#release = db.prepare('RELEASE step');
    this.#rollbackTo = db.prepare('ROLLBACK TO step');
  }

  /**
   * Runs `step` atomically (in a savepoint) inside the turn's transaction, opening it if needed.
   * A throwing step leaves no trace; the other steps of the turn are unaffected.
   * @param scrub - the step deletes content that must not linger in the WAL
   */
  write<T>(step: () => T, scrub = false): T {
    if (this.#closed) throw new Error('group commit is closed');
    if (this.#pending === undefined) {
      this.#db.exec('BEGIN IMMEDIATE');
      const opened = pending();
      this.#pending = opened;
      setImmediate(() => {
        this.#commit(opened);
      });
    } else if (!this.#db.inTransaction) {
      // SQLite rolled this turn back (e.g. disk full): a bare SAVEPOINT would autocommit alone.
      throw new Error('the transaction of this turn was rolled back by SQLite');
    }
    this.#savepoint.run();
    try {
      const result = step();
      this.#release.run();
      if (scrub) this.#pending.scrub = true;
      return result;
    } catch (error) {
      // SQLite may already have rolled the whole transaction back (e.g. disk full).
      if (this.#db.inTransaction) {
        this.#rollbackTo.run();
        this.#release.run();
      }
      throw error;
    }
  }

  /**
   * Resolves once everything written so far (in this turn and, being synced in order, before it)
   * is durable, at once if nothing is pending, and, if this turn deleted something, once the WAL
   * is scrubbed of it.
   */
  barrier(): Promise<void> {
    return this.#pending?.promise ?? this.#lastCommitted;
  }

  /** Resolves once no WAL scrub is owed: stale copies of deleted rows are gone from disk. */
  async scrubbed(): Promise<void> {
    const owed = [...this.#unsynced.filter((waiter) => waiter.scrub), ...this.#scrubWaiters];
    await Promise.all(owed.map((waiter) => waiter.promise));
  }

  /**
   * Commits the open transaction, waits for the syncs, scrubs now if a scrub is owed, and closes
   * the WAL's descriptor (before the connection is closed). No write is accepted after.
   */
  async flush(): Promise<void> {
    if (this.#closed) return;
    const open = this.#pending;
    if (open !== undefined) this.#commit(open);
    await this.#syncsEnded();
    clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    if (this.#scrubWaiters.length > 0 && !this.#tryScrub()) {
      const error = new Error('the WAL could not be scrubbed before closing');
      for (const waiter of this.#scrubWaiters.splice(0)) waiter.reject(error);
    }
    if (this.#unsynced.length > 0) this.#settle();
    await this.#syncsEnded();
    this.#closed = true;
    if (this.#walFd !== undefined) closeSync(this.#walFd);
    this.#walFd = undefined;
    await (open?.promise ?? SETTLED);
  }

  /** Resolves once no sync is in flight (the end of one may start the next). */
  async #syncsEnded(): Promise<void> {
    while (this.#syncing !== undefined) await this.#syncing;
  }

  #commit(open: Pending): void {
    if (this.#pending !== open) return;
    this.#pending = undefined;
    try {
      if (!this.#db.inTransaction) throw new Error('transaction was rolled back by SQLite');
      this.#db.exec('COMMIT');
    } catch (error) {
      if (this.#db.inTransaction) this.#db.exec('ROLLBACK');
      open.reject(error);
      return;
    }
    this.#lastCommitted = open.promise;
    this.#unsynced.push(open);
    this.#settle();
  }

  /**
   * Moves committed turns on: scrubs if a synced turn deleted something (this also makes every
   * committed turn durable), else starts a sync. Waits while a sync is in flight (its end calls
   * this again) or a turn is open (a checkpoint cannot run inside its transaction; its commit
   * calls this again).
   */
  #settle(): void {
    if (this.#failure !== undefined) {
      for (const waiter of [...this.#unsynced.splice(0), ...this.#scrubWaiters.splice(0)]) {
        waiter.reject(this.#failure);
      }
      return;
    }
    if (this.#syncing !== undefined || this.#pending !== undefined || this.#closed) return;
    // After a failed scrub only the retry timer tries again, so a held reader is not polled.
    if (this.#scrubWaiters.length > 0 && this.#retryTimer === undefined) {
      if (this.#tryScrub()) return;
      this.#retryScrub();
    }
    if (this.#unsynced.length > 0) this.#sync();
  }

  /** Scrubs now; on success releases every barrier of a committed turn (see the note above). */
  #tryScrub(): boolean {
    let done: boolean;
    try {
      done = scrubWal(this.#db);
    } catch {
      done = false;
    }
    if (!done) return false;
    for (const waiter of [...this.#scrubWaiters.splice(0), ...this.#unsynced.splice(0)]) {
      waiter.resolve();
    }
    return true;
  }

  #retryScrub(): void {
    if (this.#retryTimer !== undefined) return;
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      if (this.#scrubWaiters.length === 0) return;
      // Tries now, or when the sync in flight ends or the open turn commits; failing, re-arms.
      this.#settle();
    }, this.#scrubRetryMs);
  }

  /** Syncs the WAL on the thread pool for every turn committed so far. */
  #sync(): void {
    const batch = this.#unsynced.splice(0);
    let fd: number;
    try {
      this.#walFd ??= openSync(this.#walFile, 'r');
      fd = this.#walFd;
    } catch (error) {
      this.#fail(error);
      for (const waiter of batch) waiter.reject(this.#failure);
      this.#settle();
      return;
    }
    this.#syncing = new Promise<void>((done) => {
      fdatasync(fd, (error) => {
        this.#syncing = undefined;
        if (error === null) {
          // Answer nobody while a committed delete may still sit in the WAL: a crash after the
          // answer would leave the deleted bytes on disk.
          for (const waiter of batch) {
            if (waiter.scrub) this.#scrubWaiters.push(waiter);
            else waiter.resolve();
          }
        } else {
          this.#fail(error);
          for (const waiter of batch) waiter.reject(this.#failure);
        }
        done();
        this.#settle();
      });
    });
  }

  #fail(cause: unknown): void {
    this.#failure ??= new Error(
      'The database log could not be synced to disk; restart the Operator.',
      { cause },
    );
  }
}
