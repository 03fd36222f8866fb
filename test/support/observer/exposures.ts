/**
 * Direct exposures, no inference needed: a row on disk that holds a letter and also a name other
 * than its recipient's (or anyone's public key), and log lines that name a komrade.
 */
import type { IdentityKeys } from '../../../common/crypto/index.js';
import type { DeliveredLetter } from './delivered-letters.js';
import type { Observation } from './observation.js';

/** One finding, in words. */
export type Exposure = string;

const isBytes = (value: unknown): value is Uint8Array => value instanceof Uint8Array;

/**
 * Rows of any table in any snapshot that hold a delivered letter (its id or sealed bytes) next to
 * a name that is not the recipient's, or next to a komrade's public key.
 */
export function lettersBesideNames(
  observation: Observation,
  letters: readonly DeliveredLetter[],
  keys: ReadonlyMap<string, IdentityKeys>,
): Exposure[] {
  const byId = new Map<string, DeliveredLetter>();
  const bySealed = new Map<string, DeliveredLetter>();
  for (const letter of letters) {
    if (letter.id !== undefined) byId.set(letter.id, letter);
    bySealed.set(letter.sealed.toString('base64url'), letter);
  }
  const publicKeys = new Map<string, string>();
  for (const [name, k] of keys) {
    publicKeys.set(Buffer.from(k.signPublic).toString('base64url'), name);
    publicKeys.set(Buffer.from(k.boxPublic).toString('base64url'), name);
  }
  const names = new Set(keys.keys());
  const found = new Set<Exposure>();
  for (const snapshot of observation.snapshots) {
    for (const [table, rows] of Object.entries(snapshot.tables)) {
      for (const row of rows) {
        const values = Object.values(row);
        const letter = values
          .filter(isBytes)
          .map((v) => Buffer.from(v).toString('base64url'))
          .map((text) => byId.get(text) ?? bySealed.get(text))
          .find((l) => l !== undefined);
        if (letter === undefined) continue;
        for (const [column, value] of Object.entries(row)) {
          if (typeof value === 'string' && names.has(value) && value !== letter.to) {
            found.add(`${table}.${column} holds @${value} beside a letter to @${letter.to}`);
          }
          if (isBytes(value)) {
            const owner = publicKeys.get(Buffer.from(value).toString('base64url'));
            if (owner !== undefined && owner !== letter.to) {
              found.add(
                `${table}.${column} holds @${owner}'s key beside a letter to @${letter.to}`,
              );
            }
          }
        }
      }
    }
  }
  return [...found];
}

/** Log lines that contain a komrade's name as a word. */
export function logLinesNaming(observation: Observation, names: readonly string[]): Exposure[] {
  const found: Exposure[] = [];
  for (const line of observation.logLines) {
    for (const name of names) {
      if (new RegExp(`(^|[^a-z0-9_])${name}([^a-z0-9_]|$)`).test(line)) {
        found.push(`a log line names @${name}: ${line.slice(0, 200)}`);
      }
    }
  }
  return found;
}
