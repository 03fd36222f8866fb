/** Raw calls (signed, in a session or anonymous) to an Operator for benchmarks: the wire protocol with nothing on top. */
import { request, type Dispatcher } from 'undici';
import {
  blind,
  clientSessionKey,
  finalize,
  generateIdentityKeys,
  randomBytes,
  sessionKeyPair,
  sessionMac,
  type IdentityKeys,
} from '../common/crypto/index.js';
import {
  MAX_TOKEN_BATCH,
  SESSION_ROUTE,
  TOKEN_INPUT_BYTES,
  TOKEN_ROUTES,
  claimBytesForPow,
  formatSessionAuth,
  fromBase64url,
  proveClaim,
  sessionRequestBytes,
  signRequest,
  solveProofOfWork,
  toBase64url,
  tokenEpochInfo,
  tokenEpochOf,
} from '../common/wire/index.js';
import { framedLetter } from '../test/support/framed-letter.js';

/** A registered komrade the benchmark acts as. */
export interface Komrade {
  readonly name: string;
  readonly keys: IdentityKeys;
}

/** Where and how to reach an Operator: its origin and the dispatcher (pool, agent or Tor). */
export interface OperatorEndpoint {
  readonly origin: string;
  readonly dispatcher: Dispatcher;
}

/**
 * A komrade's open mailbox session (as clients use by default): requests carry a MAC and a
 * sequence number instead of a signature. The grant's signature is not checked here: the
 * benchmark trusts the Operator it started.
 */
export interface BenchSession {
  readonly id: Uint8Array;
  readonly key: Uint8Array;
  seq: number;
}

/** What authenticates a request: a signature by a komrade, or a komrade's session. */
export type Authority = Komrade | BenchSession;

/** Opens a mailbox session for `komrade` (one signed handshake). */
export async function openSession(
  endpoint: OperatorEndpoint,
  komrade: Komrade,
): Promise<BenchSession> {
  const pair = sessionKeyPair();
  const grant = (await callOperator(
    endpoint,
    SESSION_ROUTE,
    { clientKey: toBase64url(pair.publicKey) },
    komrade,
  )) as { session: string; serverKey: string };
  return {
    id: bytesOf(grant.session),
    key: clientSessionKey(pair, bytesOf(grant.serverKey)),
    seq: 0,
  };
}

function authorization(path: string, body: Uint8Array, by: Authority): string {
  if ('id' in by) {
    const seq = by.seq++;
    const mac = sessionMac(
      by.key,
      sessionRequestBytes({ method: 'POST', path, session: by.id, seq, body }),
    );
    return formatSessionAuth({ session: by.id, seq, mac });
  }
  return signRequest({
    method: 'POST',
    path,
    name: by.name,
    at: Date.now(),
    nonce: randomBytes(16),
    body,
    signSecret: by.keys.signSecret,
  });
}

/** Sends one request and returns its parsed JSON, throwing on any non-2xx answer. */
export async function callOperator(
  endpoint: OperatorEndpoint,
  path: string,
  payload: unknown,
  by?: Authority,
): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (by !== undefined) headers['authorization'] = authorization(path, body, by);
  const res = await request(`${endpoint.origin}${path}`, {
    method: 'POST',
    headers,
    body,
    dispatcher: endpoint.dispatcher,
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path} answered ${res.statusCode}: ${text}`);
  return JSON.parse(text) as unknown;
}

/** GET on a public route; resolves once the answer is read. */
export async function getOperator(endpoint: OperatorEndpoint, path: string): Promise<void> {
  const res = await request(`${endpoint.origin}${path}`, { dispatcher: endpoint.dispatcher });
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${path} answered ${res.statusCode}`);
}

/** Registers a fresh komrade (the Operator under test runs with a low proof-of-work difficulty). */
export async function registerKomrade(
  endpoint: OperatorEndpoint,
  name: string,
  powBits: number,
): Promise<Komrade> {
  const keys = generateIdentityKeys();
  const claim = {
    name,
    signKey: keys.signPublic,
    boxKey: keys.boxPublic,
    keyHolder: 'self' as const,
    // Shaped like libsignal's Curve25519 key: the Operator checks the shape only.
    ratchetKey: Uint8Array.of(0x05, ...randomBytes(32)),
  };
  const pow = await solveProofOfWork(claimBytesForPow(claim), powBits);
  await callOperator(endpoint, '/v1/register', {
    name,
    signKey: toBase64url(keys.signPublic),
    boxKey: toBase64url(keys.boxPublic),
    keyHolder: claim.keyHolder,
    ratchetKey: toBase64url(claim.ratchetKey),
    pop: toBase64url(proveClaim(claim, keys.signSecret)),
    pow: toBase64url(pow),
  });
  return { name, keys };
}

/** A spent-ready token as the anonymous send's JSON wants it. */
export interface WireToken {
  readonly epoch: number;
  readonly input: string;
  readonly output: string;
}

const bytesOf = (text: string): Uint8Array => {
  const bytes = fromBase64url(text);
  if (bytes === undefined) throw new Error('the Operator answered bytes that are not base64url');
  return bytes;
};

/** The Operator's published token key. */
export async function tokenKeyOf(endpoint: OperatorEndpoint): Promise<Uint8Array> {
  const res = await request(`${endpoint.origin}/v1/operator`, { dispatcher: endpoint.dispatcher });
  const info = (await res.body.json()) as { tokenKey: string };
  return bytesOf(info.tokenKey);
}

/**
 * `count` tokens for `komrade`, obtained as a client does (blind, signed issue requests of at most
 * {@link MAX_TOKEN_BATCH}, the proof checked against `tokenKey`, finalize).
 */
export async function obtainTokens(
  endpoint: OperatorEndpoint,
  komrade: Authority,
  tokenKey: Uint8Array,
  count: number,
  batchSize: number = MAX_TOKEN_BATCH,
): Promise<WireToken[]> {
  const tokens: WireToken[] = [];
  const epoch = tokenEpochOf(Date.now());
  const params = { mode: 'POPRF', info: tokenEpochInfo(epoch) } as const;
  while (tokens.length < count) {
    const inputs = Array.from({ length: Math.min(batchSize, count - tokens.length) }, () =>
      randomBytes(TOKEN_INPUT_BYTES),
    );
    const batch = blind('POPRF', inputs);
    const answer = (await callOperator(
      endpoint,
      TOKEN_ROUTES.issue,
      { epoch, blinded: batch.blindedElements.map(toBase64url) },
      komrade,
    )) as { evaluated: string[]; proof: string };
    const outputs = finalize(params, tokenKey, batch, {
      evaluatedElements: answer.evaluated.map(bytesOf),
      proof: bytesOf(answer.proof),
    });
    inputs.forEach((input, i) => {
      const output = outputs[i];
      if (output === undefined) throw new Error('finalize returned too few outputs');
      tokens.push({ epoch, input: toBase64url(input), output: toBase64url(output) });
    });
  }
  return tokens;
}

/** One anonymous send: no Authorization header, paid with `token`. */
export async function sendAnonymously(
  endpoint: OperatorEndpoint,
  to: string,
  sealed: string,
  token: WireToken,
): Promise<unknown> {
  return callOperator(endpoint, TOKEN_ROUTES.send, { to, sealed, token });
}

/**
 * A sealed letter of about `bytes` bytes, as base64url for a send request: framed and sealed as
 * a real one, its ratchet layer a stand-in (the Operator never opens it; see framed-letter.ts).
 */
export function sealedLetter(from: Komrade, to: Komrade, bytes: number): string {
  return toBase64url(
    framedLetter(
      from,
      { name: to.name, boxPublic: to.keys.boxPublic },
      'x'.repeat(Math.max(1, bytes - 48)),
    ),
  );
}
