/** Raw, signed calls to an Operator for benchmarks: the wire protocol with nothing on top. */
import { request, type Dispatcher } from 'undici';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../common/crypto/index.js';
import {
  claimBytesForPow,
  proveClaim,
  sealLetter,
  signRequest,
  solveProofOfWork,
  toBase64url,
} from '../common/wire/index.js';

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

/** Sends one request and returns its parsed JSON, throwing on any non-2xx answer. */
export async function callOperator(
  endpoint: OperatorEndpoint,
  path: string,
  payload: unknown,
  signer?: Komrade,
): Promise<unknown> {
  const body = Buffer.from(JSON.stringify(payload));
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (signer !== undefined) {
    headers['authorization'] = signRequest({
      method: 'POST',
      path,
      name: signer.name,
      at: Date.now(),
      nonce: randomBytes(16),
      body,
      signSecret: signer.keys.signSecret,
    });
  }
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
  };
  const pow = await solveProofOfWork(claimBytesForPow(claim), powBits);
  await callOperator(endpoint, '/v1/register', {
    name,
    signKey: toBase64url(keys.signPublic),
    boxKey: toBase64url(keys.boxPublic),
    keyHolder: claim.keyHolder,
    pop: toBase64url(proveClaim(claim, keys.signSecret)),
    pow: toBase64url(pow),
  });
  return { name, keys };
}

/** A real sealed letter of about `bytes` bytes, as base64url for a send request. */
export function sealedLetter(from: Komrade, to: Komrade, bytes: number): string {
  return toBase64url(
    sealLetter(
      {
        v: 1,
        kind: 'text',
        from: from.name,
        to: to.name,
        sentAt: Date.now(),
        id: randomBytes(16),
        body: 'x'.repeat(Math.max(1, bytes - 48)),
      },
      from.keys.signSecret,
      to.keys.boxPublic,
    ),
  );
}
