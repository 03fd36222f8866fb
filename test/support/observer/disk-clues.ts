/**
 * What a copy of the Operator's disk offers the linker: when each waiting letter was received, and
 * when each komrade's signed requests were made (the replay guard's rows), to join the two.
 */
import { CLOCK_SKEW_MS } from '../../../common/wire/index.js';
import type { Observation } from './observation.js';

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const idText = (value: unknown): string | undefined =>
  value instanceof Uint8Array ? Buffer.from(value).toString('base64url') : undefined;

/** Letter id → received_at, from any table of any snapshot holding both. */
export function receivedTimesOnDisk(observation: Observation): Map<string, number> {
  const out = new Map<string, number>();
  for (const snapshot of observation.snapshots) {
    for (const rows of Object.values(snapshot.tables)) {
      for (const row of rows) {
        if (!isRecord(row) || typeof row.received_at !== 'number') continue;
        const id = idText(row.id);
        if (id !== undefined) out.set(id, row.received_at);
      }
    }
  }
  return out;
}

/**
 * Signed requests the replay guard remembered: (name, when it was signed), from rows that keep
 * a name until a time (the guard keeps a nonce until `at + CLOCK_SKEW_MS + 1`).
 */
export function signedRequestTimesOnDisk(observation: Observation): { name: string; at: number }[] {
  const seen = new Set<string>();
  const out: { name: string; at: number }[] = [];
  for (const snapshot of observation.snapshots) {
    for (const rows of Object.values(snapshot.tables)) {
      for (const row of rows) {
        if (!isRecord(row) || typeof row.name !== 'string' || typeof row.keep_until !== 'number') {
          continue;
        }
        const key = `${row.name}/${idText(row.nonce) ?? ''}/${row.keep_until}`;
        if (seen.has(key)) continue;
        seen.add(key);
        out.push({ name: row.name, at: row.keep_until - CLOCK_SKEW_MS - 1 });
      }
    }
  }
  return out;
}

/** The name whose time is closest to `t`, within `before` ms before and `after` ms after. */
export function closest(
  times: readonly { name: string; at: number }[],
  t: number,
  not: string,
  before: number,
  after: number,
): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const { name, at } of times) {
    if (name === not || at < t - before || at > t + after) continue;
    const distance = Math.abs(t - at);
    if (best === undefined || distance < best.distance) best = { name, distance };
  }
  return best?.name;
}
