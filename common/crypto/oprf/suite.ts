/** RFC 9497 ciphersuite ristretto255-SHA512: its modes, sizes and domain-separation strings. */
import { KomradeError } from '../../errors/index.js';

/** The verifiable modes of RFC 9497; the base OPRF mode (no proof) is deliberately absent. */
export type OprfMode = 'VOPRF' | 'POPRF';

/**
 * Which mode, and for POPRF the public input every evaluation is bound to (the token epoch):
 * the server's proof and the output both depend on it.
 */
export type OprfParams =
  { readonly mode: 'VOPRF' } | { readonly mode: 'POPRF'; readonly info: Uint8Array };

/** Bytes of a serialized ristretto255 element (Ne). */
export const OPRF_ELEMENT_BYTES = 32;
/** Bytes of a serialized scalar (Ns); also the length of a key-derivation seed. */
export const OPRF_SCALAR_BYTES = 32;
/** Bytes of an OPRF output (Nh, SHA-512). */
export const OPRF_OUTPUT_BYTES = 64;
/** Bytes of a serialized DLEQ proof: the scalars c ‖ s. */
export const OPRF_PROOF_BYTES = 64;

const MODE_BYTE: Readonly<Record<OprfMode, number>> = { VOPRF: 0x01, POPRF: 0x02 };
const encoder = new TextEncoder();

/** ASCII bytes of a protocol label. */
export const ascii = (label: string): Uint8Array => encoder.encode(label);

/** `a ‖ b ‖ …` in one fresh array. */
export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** I2OSP(len(bytes), 2) ‖ bytes: every variable-length field in RFC 9497 transcripts. */
export function lengthPrefixed(bytes: Uint8Array): Uint8Array {
  if (bytes.length > 0xffff) {
    throw new KomradeError('BAD_REQUEST', 'OPRF input or info is longer than 65535 bytes.');
  }
  const out = new Uint8Array(2 + bytes.length);
  out[0] = bytes.length >>> 8;
  out[1] = bytes.length & 0xff;
  out.set(bytes, 2);
  return out;
}

const contexts = new Map<OprfMode, Uint8Array>();

/** contextString = "OPRFV1-" ‖ I2OSP(mode, 1) ‖ "-ristretto255-SHA512" (RFC 9497 §3.1). */
export function contextString(mode: OprfMode): Uint8Array {
  let context = contexts.get(mode);
  if (context === undefined) {
    context = concat(
      ascii('OPRFV1-'),
      Uint8Array.of(MODE_BYTE[mode]),
      ascii('-ristretto255-SHA512'),
    );
    contexts.set(mode, context);
  }
  return context;
}
