/**
 * Mailbox sessions: a komrade proves ownership of its mailbox once, with one signed handshake,
 * and then MACs each request (fetch, ack, token issuance) with the session key and a sequence
 * number. The Operator keeps sessions in memory only: no durable row per request is needed to
 * refuse a replay, because a replayed handshake opens a session whose key only the real client
 * can derive, and a replayed request repeats a sequence number already seen.
 *
 * The header: `Authorization: KomradeSession id=<base64url 16>,seq=<n>,mac=<base64url 32>`.
 */
import { z } from 'zod';
import { blake2b } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { base64urlBytes, fromBase64url, toBase64url } from './base64url.js';
import { TAGS, signedBytes } from './signed.js';

/** The handshake: a signed request (`Authorization: Komrade …`) carrying the client's key. */
export const SESSION_ROUTE = '/v2/session';

/** Bytes of a session id. */
export const SESSION_ID_BYTES = 16;
/** How long a session lasts from its handshake; the client opens a new one before. */
export const SESSION_TTL_MS = 60 * 60 * 1000;
/** Most sequence numbers behind the highest seen that may still arrive (requests overlap). */
export const SESSION_REPLAY_WINDOW = 64;
/** The largest sequence number (a session is renewed long before). */
export const MAX_SESSION_SEQ = 2 ** 48;

export const sessionOpenRequestSchema = z.strictObject({
  /** The client's ephemeral X25519 (`crypto_kx`) public key. */
  clientKey: base64urlBytes({ exact: 32 }),
});

export const sessionOpenResponseSchema = z.strictObject({
  session: base64urlBytes({ exact: SESSION_ID_BYTES }),
  /** The Operator's ephemeral `crypto_kx` public key for this session. */
  serverKey: base64urlBytes({ exact: 32 }),
  expiresAt: z.number().int().nonnegative(),
  /** The Operator's Ed25519 signature over {@link sessionGrantBytes}. */
  sig: base64urlBytes({ exact: 64 }),
});
export type SessionOpenResponse = z.output<typeof sessionOpenResponseSchema>;

/** What the Operator signs when it opens a session: bound to the name and both keys. */
export function sessionGrantBytes(grant: {
  readonly name: string;
  readonly clientKey: Uint8Array;
  readonly serverKey: Uint8Array;
  readonly session: Uint8Array;
  readonly expiresAt: number;
}): Uint8Array {
  return signedBytes(TAGS.session, {
    name: grant.name,
    clientKey: grant.clientKey,
    serverKey: grant.serverKey,
    session: grant.session,
    expiresAt: grant.expiresAt,
  });
}

/** The bytes a session request's MAC covers: method, path, session, sequence and body hash. */
export function sessionRequestBytes(request: {
  readonly method: string;
  readonly path: string;
  readonly session: Uint8Array;
  readonly seq: number;
  readonly body: Uint8Array;
}): Uint8Array {
  return signedBytes(TAGS.sessionRequest, {
    method: request.method,
    path: request.path,
    session: request.session,
    seq: request.seq,
    bodyHash: blake2b(request.body, 32),
  });
}

/** A parsed `KomradeSession` header. */
export interface SessionAuth {
  readonly session: Uint8Array;
  readonly seq: number;
  readonly mac: Uint8Array;
}

const HEADER =
  /^KomradeSession id=([A-Za-z0-9_-]{22}),seq=(0|[1-9]\d{0,14}),mac=([A-Za-z0-9_-]{43})$/;

/** True when an Authorization header uses a session rather than a signature. */
export const isSessionAuth = (header: string | undefined): boolean =>
  header?.startsWith('KomradeSession ') === true;

/** The header value for one request. */
export function formatSessionAuth(auth: SessionAuth): string {
  return `KomradeSession id=${toBase64url(auth.session)},seq=${auth.seq},mac=${toBase64url(auth.mac)}`;
}

/** Parses a `KomradeSession` header; `BAD_REQUEST` when malformed. */
export function parseSessionAuth(header: string): Result<SessionAuth> {
  const match = HEADER.exec(header);
  const session = match?.[1] === undefined ? undefined : fromBase64url(match[1]);
  const seq = match?.[2] === undefined ? Number.NaN : Number(match[2]);
  const mac = match?.[3] === undefined ? undefined : fromBase64url(match[3]);
  if (
    session?.length !== SESSION_ID_BYTES ||
    mac?.length !== 32 ||
    !Number.isSafeInteger(seq) ||
    seq > MAX_SESSION_SEQ
  ) {
    return err(new KomradeError('BAD_REQUEST', 'Malformed session Authorization header.'));
  }
  return ok({ session, seq, mac });
}

const MASK = (1n << BigInt(SESSION_REPLAY_WINDOW)) - 1n;

/**
 * The sequence numbers a session has seen: accepts each number once, and refuses one more than
 * {@link SESSION_REPLAY_WINDOW} behind the highest (as IPsec's anti-replay window does).
 */
export class ReplayWindow {
  #highest = -1;
  /** Bit i set: `highest - i` was seen. */
  #seen = 0n;

  /** Records `seq`; false when it was seen before or is too old to tell. */
  accept(seq: number): boolean {
    if (seq > this.#highest) {
      const shift = seq - this.#highest;
      this.#seen =
        shift >= SESSION_REPLAY_WINDOW ? 1n : ((this.#seen << BigInt(shift)) | 1n) & MASK;
      this.#highest = seq;
      return true;
    }
    const behind = this.#highest - seq;
    if (behind >= SESSION_REPLAY_WINDOW) return false;
    const bit = 1n << BigInt(behind);
    if ((this.#seen & bit) !== 0n) return false;
    this.#seen |= bit;
    return true;
  }
}
