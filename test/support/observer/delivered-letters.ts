/**
 * The letters the Operator accepted, as it saw them: each request body holding `{ to, sealed }`
 * (one letter, or a batch under `letters`) that it answered with a 2xx, and the ids it answered.
 * Works for the v1 signed batch and the v2 anonymous send alike.
 */
import type { ObservedRequest } from './observation.js';

/** One accepted letter. */
export interface DeliveredLetter {
  /** The Operator's id (base64url) when its answer gave one, else `seq/index`. */
  readonly key: string;
  readonly id: string | undefined;
  readonly to: string;
  readonly sealed: Buffer;
  /** The request that carried it. */
  readonly request: ObservedRequest;
  /** Its place among the letters of that request, and how many it carried. */
  readonly index: number;
  readonly inRequest: number;
}

/** Parses JSON, or `undefined`. */
export function jsonOf(bytes: Buffer): unknown {
  if (bytes.length === 0) return undefined;
  try {
    return JSON.parse(bytes.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function lettersIn(body: unknown): { to: string; sealed: string }[] {
  if (!isRecord(body)) return [];
  const entries = Array.isArray(body.letters) ? body.letters : [body];
  return entries.flatMap((entry: unknown) =>
    isRecord(entry) && typeof entry.to === 'string' && typeof entry.sealed === 'string'
      ? [{ to: entry.to, sealed: entry.sealed }]
      : [],
  );
}

function idsIn(answer: unknown): (string | undefined)[] {
  if (!isRecord(answer)) return [];
  if (Array.isArray(answer.ids)) {
    return answer.ids.map((id: unknown) => (typeof id === 'string' ? id : undefined));
  }
  return typeof answer.id === 'string' ? [answer.id] : [];
}

/** Every letter the Operator accepted, in order of arrival. */
export function deliveredLetters(requests: readonly ObservedRequest[]): DeliveredLetter[] {
  const out: DeliveredLetter[] = [];
  const seen = new Set<string>();
  for (const request of requests) {
    if (request.method !== 'POST' || request.status < 200 || request.status > 299) continue;
    const letters = lettersIn(jsonOf(request.body));
    if (letters.length === 0) continue;
    const ids = idsIn(jsonOf(request.answer));
    letters.forEach((letter, index) => {
      const id = ids[index];
      // An identical retry answered with the same id is one letter.
      if (id !== undefined && seen.has(id)) return;
      if (id !== undefined) seen.add(id);
      out.push({
        key: id ?? `${request.seq}/${index}`,
        id,
        to: letter.to,
        sealed: Buffer.from(letter.sealed, 'base64url'),
        request,
        index,
        inRequest: letters.length,
      });
    });
  }
  return out;
}
