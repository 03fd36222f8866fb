/**
 * Who made a request, as far as the request itself says: a signed `Authorization: Komrade name=…`
 * header, a session opened by a signed handshake (`KomradeSession id=…`), a registration, a wait
 * for one mailbox. Then circuits: whoever identified themselves on a circuit owns what else it
 * carried.
 */
import { jsonOf } from './delivered-letters.js';
import type { ObservedRequest } from './observation.js';

/** How a request gave its maker away. */
export type IdentityEvidence = 'signature' | 'session' | 'registration' | 'wait-proof';

export interface RequestIdentity {
  readonly name: string;
  readonly how: IdentityEvidence;
}

const SIGNED = /^Komrade name=([a-z0-9_]{3,32}),/;
const SESSION = /^KomradeSession id=([A-Za-z0-9_-]+)/;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What each request (by `seq`) says about its maker, where it says anything. */
export function requestIdentities(
  requests: readonly ObservedRequest[],
): ReadonlyMap<number, RequestIdentity> {
  const out = new Map<number, RequestIdentity>();
  const sessions = new Map<string, string>();
  for (const request of requests) {
    const authorization = request.headers.authorization ?? '';
    const signed = SIGNED.exec(authorization)?.[1];
    const session = SESSION.exec(authorization)?.[1];
    const body = jsonOf(request.body);
    if (signed !== undefined) {
      out.set(request.seq, { name: signed, how: 'signature' });
      // A session granted to a signed handshake is that komrade's from then on.
      const answer = jsonOf(request.answer);
      if (isRecord(answer) && typeof answer.session === 'string') {
        sessions.set(answer.session, signed);
      }
    } else if (session !== undefined && sessions.has(session)) {
      out.set(request.seq, { name: sessions.get(session) ?? '', how: 'session' });
    } else if (request.path.startsWith('/v1/register') && isRecord(body)) {
      if (typeof body.name === 'string')
        out.set(request.seq, { name: body.name, how: 'registration' });
    } else if (isRecord(body) && Array.isArray(body.mailboxes) && body.mailboxes.length === 1) {
      const [mailbox] = body.mailboxes as unknown[];
      if (isRecord(mailbox) && typeof mailbox.name === 'string') {
        out.set(request.seq, { name: mailbox.name, how: 'wait-proof' });
      }
    }
  }
  return out;
}

/** For each circuit, how many identified requests each name made on it. */
export function circuitOwners(
  requests: readonly ObservedRequest[],
  identities: ReadonlyMap<number, RequestIdentity>,
): ReadonlyMap<number, ReadonlyMap<string, number>> {
  const out = new Map<number, Map<string, number>>();
  for (const request of requests) {
    const identity = identities.get(request.seq);
    if (identity === undefined || request.circuit === undefined) continue;
    const owners = out.get(request.circuit) ?? new Map<string, number>();
    owners.set(identity.name, (owners.get(identity.name) ?? 0) + 1);
    out.set(request.circuit, owners);
  }
  return out;
}
