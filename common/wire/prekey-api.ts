/**
 * Prekeys (protocol v2, forward secrecy): each identity publishes a signed EC prekey, a signed
 * last-resort Kyber prekey and a batch of one-time EC prekeys; anyone may fetch a bundle of them,
 * anonymously, for one token, to start a libsignal (PQXDH) session. The Operator checks only the
 * keys' shapes: it has no libsignal, so the signatures are checked by the client that fetches the
 * bundle, against the receipt's ratchet key.
 */
import { z } from 'zod';
import { base64urlBytes, toBase64url } from './base64url.js';
import { isCanonicalName } from './names.js';
import { curve25519KeySchema } from './api.js';
import { tokenSchema, type Token } from './token-api.js';

/** The routes of prekeys. */
export const PREKEY_ROUTES = Object.freeze({
  /** Signed by the identity: publish or replace its prekeys. */
  upload: '/v1/prekeys',
  /** Not signed: one bundle, paid for with one anonymous token. */
  bundle: '/v2/prekeys/bundle',
});

/** Bytes of libsignal's Kyber1024 public key serialization (type byte, then 1,568). */
export const KYBER_PREKEY_BYTES = 1_569;
/** The first byte of libsignal's Kyber1024 public key serialization. */
export const KYBER1024_KEY_TYPE = 0x08;
/** Bytes of a prekey's signature (XEdDSA by the ratchet identity key). */
export const PREKEY_SIGNATURE_BYTES = 64;
/** The largest prekey id: libsignal's ids are unsigned 32-bit; 31 bits keep them safe anywhere. */
export const MAX_PREKEY_ID = 2 ** 31 - 1;
/** Most one-time prekeys one upload may carry. */
export const MAX_ONE_TIME_PREKEYS_PER_UPLOAD = 100;

const prekeyId = z.number().int().min(1).max(MAX_PREKEY_ID);
const signature = base64urlBytes({ exact: PREKEY_SIGNATURE_BYTES });

/** A signed EC prekey: its public key signed by the ratchet identity key. */
export const signedPrekeySchema = z.strictObject({
  id: prekeyId,
  publicKey: curve25519KeySchema,
  signature,
});
export type SignedPrekey = z.output<typeof signedPrekeySchema>;

/** A signed last-resort Kyber1024 prekey: used again whenever no one-time prekey is left. */
export const kyberPrekeySchema = z.strictObject({
  id: prekeyId,
  publicKey: base64urlBytes({ exact: KYBER_PREKEY_BYTES }).refine(
    (bytes) => bytes[0] === KYBER1024_KEY_TYPE,
    'not a Kyber1024 public key (its first byte must be 0x08)',
  ),
  signature,
});
export type KyberPrekey = z.output<typeof kyberPrekeySchema>;

/** A one-time EC prekey: handed out once, then deleted. Not signed (as in Signal). */
export const oneTimePrekeySchema = z.strictObject({ id: prekeyId, publicKey: curve25519KeySchema });
export type OneTimePrekey = z.output<typeof oneTimePrekeySchema>;

/**
 * POST /v1/prekeys (signed). A signed or Kyber prekey replaces the one stored; one-time prekeys
 * are added (ids must be new, distinct ones). An empty body only asks how many are left.
 * `replaceOneTime: true` first deletes every one-time prekey the name holds (a client restored
 * from a backup lacks the secrets of those uploaded after it); then the ids need only be distinct.
 */
export const prekeyUploadSchema = z.strictObject({
  signedPrekey: signedPrekeySchema.optional(),
  kyberPrekey: kyberPrekeySchema.optional(),
  oneTimePrekeys: z.array(oneTimePrekeySchema).max(MAX_ONE_TIME_PREKEYS_PER_UPLOAD).optional(),
  replaceOneTime: z.boolean().optional(),
});
export type PrekeyUpload = z.output<typeof prekeyUploadSchema>;

/** What the Operator holds for the uploader after an upload. */
export const prekeyUploadAnswerSchema = z.strictObject({
  oneTimeLeft: z.number().int().nonnegative(),
  signedPrekey: z.boolean(),
  kyberPrekey: z.boolean(),
});
export type PrekeyUploadAnswer = z.output<typeof prekeyUploadAnswerSchema>;

/** POST /v2/prekeys/bundle (not signed): whose bundle, and the token that pays for it. */
export const prekeyBundleRequestSchema = z.strictObject({
  name: z.string().max(64),
  token: tokenSchema,
});
/** A bundle request as the client builds it. */
export interface PrekeyBundleRequest {
  readonly name: string;
  readonly token: Token;
}

/**
 * A bundle: without `oneTimePrekey` when the name has none left, or its hourly share was handed
 * out, or this answers a retry (the first answer's one-time prekey is gone).
 */
export const prekeyBundleSchema = z.strictObject({
  name: z.string().max(32).refine(isCanonicalName, 'not a canonical name'),
  signedPrekey: signedPrekeySchema,
  kyberPrekey: kyberPrekeySchema,
  oneTimePrekey: oneTimePrekeySchema.optional(),
});
export type PrekeyBundle = z.output<typeof prekeyBundleSchema>;

/** A prekey as JSON (bytes as base64url), as the schemas above read it. */
const prekeyJson = (key: { id: number; publicKey: Uint8Array; signature?: Uint8Array }) => ({
  id: key.id,
  publicKey: toBase64url(key.publicKey),
  ...(key.signature === undefined ? {} : { signature: toBase64url(key.signature) }),
});

/** An upload as the JSON body of `POST /v1/prekeys`. */
export function prekeyUploadJson(upload: PrekeyUpload): Record<string, unknown> {
  return {
    ...(upload.signedPrekey === undefined ? {} : { signedPrekey: prekeyJson(upload.signedPrekey) }),
    ...(upload.kyberPrekey === undefined ? {} : { kyberPrekey: prekeyJson(upload.kyberPrekey) }),
    ...(upload.oneTimePrekeys === undefined
      ? {}
      : { oneTimePrekeys: upload.oneTimePrekeys.map(prekeyJson) }),
    ...(upload.replaceOneTime === true ? { replaceOneTime: true } : {}),
  };
}

/** A bundle as the JSON answer of `POST /v2/prekeys/bundle`. */
export function prekeyBundleJson(bundle: PrekeyBundle): Record<string, unknown> {
  return {
    name: bundle.name,
    signedPrekey: prekeyJson(bundle.signedPrekey),
    kyberPrekey: prekeyJson(bundle.kyberPrekey),
    ...(bundle.oneTimePrekey === undefined
      ? {}
      : { oneTimePrekey: prekeyJson(bundle.oneTimePrekey) }),
  };
}
