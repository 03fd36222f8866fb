/**
 * Saves a run's observation and ground truth as JSON (bytes as `{ "$bytes": base64 }`), so the
 * linker can be studied and rerun without running the scenario again.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { TrueLetter } from './ground-truth.js';
import type { Observation } from './observation.js';

/** What a dump holds. */
export interface ObserverDump {
  readonly names: readonly string[];
  readonly seed: number;
  readonly observation: Observation;
  readonly truth: readonly TrueLetter[];
  readonly follows: readonly string[];
}

const replacer = (_key: string, value: unknown): unknown => {
  if (value instanceof Uint8Array) return { $bytes: Buffer.from(value).toString('base64') };
  if (
    typeof value === 'object' &&
    value !== null &&
    (value as { type?: unknown }).type === 'Buffer' &&
    Array.isArray((value as { data?: unknown }).data)
  ) {
    return { $bytes: Buffer.from((value as { data: number[] }).data).toString('base64') };
  }
  return value;
};

const reviver = (_key: string, value: unknown): unknown =>
  typeof value === 'object' &&
  value !== null &&
  typeof (value as { $bytes?: unknown }).$bytes === 'string'
    ? Buffer.from((value as { $bytes: string }).$bytes, 'base64')
    : value;

export function writeObserverDump(path: string, dump: ObserverDump): void {
  writeFileSync(path, JSON.stringify(dump, replacer));
}

export function readObserverDump(path: string): ObserverDump {
  return JSON.parse(readFileSync(path, 'utf8'), reviver) as ObserverDump;
}
