/**
 * Signed requests. The `Authorization` header carries
 * `Komrade name=<name>,at=<ms>,nonce=<base64url>,sig=<base64url>`; the signature covers the method,
 * path, name, time, nonce and the BLAKE2b-256 of the exact body bytes.
 */
import { blake2b, signDetached, verifyDetached } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { fromBase64url, toBase64url } from './base64url.js';
import { NONCE_BYTES } from './limits.js';
import { isCanonicalName } from './names.js';
import { TAGS, signedBytes } from './signed.js';

/** The fields of a signed request that the signature covers, besides the body. */
export interface RequestAuth {
  readonly name: string;
  readonly at: number;
  readonly nonce: Uint8Array;
  readonly sig: Uint8Array;
}

// `at` in its one decimal spelling (no leading zero but "0" itself): the signature covers the
// number, so a padded copy of a signed header would otherwise verify as a different string.
const HEADER =
  /^Komrade name=([a-z0-9_]{3,32}),at=(0|[1-9]\d{0,14}),nonce=([A-Za-z0-9_-]{22}),sig=([A-Za-z0-9_-]{86})$/;

function requestBytes(
  method: string,
  path: string,
  name: string,
  at: number,
  nonce: Uint8Array,
  body: Uint8Array,
) {
  return signedBytes(TAGS.request, { method, path, name, at, nonce, bodyHash: blake2b(body, 32) });
}

/** Builds the Authorization header value for a request. */
export function signRequest(input: {
  method: string;
  path: string;
  name: string;
  at: number;
  nonce: Uint8Array;
  body: Uint8Array;
  signSecret: Uint8Array;
}): string {
  const bytes = requestBytes(
    input.method,
    input.path,
    input.name,
    input.at,
    input.nonce,
    input.body,
  );
  const sig = signDetached(bytes, input.signSecret);
  return `Komrade name=${input.name},at=${input.at},nonce=${toBase64url(input.nonce)},sig=${toBase64url(sig)}`;
}

/** Parses an Authorization header; `AUTH_REQUIRED` when absent, `BAD_REQUEST` when malformed. */
export function parseRequestAuth(header: string | undefined): Result<RequestAuth> {
  if (header === undefined || header === '') {
    return err(
      new KomradeError('AUTH_REQUIRED', 'This request must be signed (Authorization: Komrade …).'),
    );
  }
  const match = HEADER.exec(header);
  const nonce = match?.[3] === undefined ? undefined : fromBase64url(match[3]);
  const sig = match?.[4] === undefined ? undefined : fromBase64url(match[4]);
  const name = match?.[1];
  const at = match?.[2] === undefined ? Number.NaN : Number(match[2]);
  if (
    name === undefined ||
    !isCanonicalName(name) ||
    !Number.isSafeInteger(at) ||
    nonce?.length !== NONCE_BYTES ||
    sig?.length !== 64
  ) {
    return err(new KomradeError('BAD_REQUEST', 'Malformed Authorization header.'));
  }
  return ok({ name, at, nonce, sig });
}

/** Verifies a parsed request signature against the signer's registered key. */
export function verifyRequestAuth(
  auth: RequestAuth,
  method: string,
  path: string,
  body: Uint8Array,
  signPublic: Uint8Array,
): boolean {
  return verifyDetached(
    auth.sig,
    requestBytes(method, path, auth.name, auth.at, auth.nonce, body),
    signPublic,
  );
}
