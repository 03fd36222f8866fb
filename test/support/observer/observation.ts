/** What a curious Operator sees: every request with its circuit, copies of its disk, its logs. */

/** One HTTP request as it reached the Operator, and its answer. */
export interface ObservedRequest {
  /** Order of arrival (0, 1, …). */
  readonly seq: number;
  /** The TCP connection it came on (numbered in order of arrival). */
  readonly connection: number;
  /** The Tor circuit of that connection (from tor's PROXY line); absent without one. */
  readonly circuit: number | undefined;
  /** When its headers arrived (ms since the Unix epoch). */
  readonly at: number;
  /** When its body was complete. */
  readonly bodyAt: number;
  /** When the answer was complete. */
  readonly answeredAt: number;
  readonly method: string;
  /** The path with its query, as sent. */
  readonly path: string;
  /** Header names in lower case. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly status: number;
  readonly answer: Buffer;
}

/** The Operator's SQLite store read at one moment: every table's rows. */
export interface DiskSnapshot {
  readonly takenAt: number;
  readonly tables: Readonly<Record<string, readonly Readonly<Record<string, unknown>>[]>>;
}

/** Everything the observer recorded in one scenario. */
export interface Observation {
  readonly requests: readonly ObservedRequest[];
  readonly snapshots: readonly DiskSnapshot[];
  /** The Operator's log lines (stderr and stdout), as written. */
  readonly logLines: readonly string[];
  /** Bytes of every file in the data folder at the end, by name. */
  readonly files: Readonly<Record<string, Buffer>>;
}
