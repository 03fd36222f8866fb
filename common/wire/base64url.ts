/** Strict base64url (RFC 4648 §5, no padding) for binary fields in JSON bodies. */
import { z } from 'zod';

const BASE64URL = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes as unpadded base64url. */
export function toBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes unpadded base64url, or `undefined` for anything non-canonical (Buffer alone is lax). */
export function fromBase64url(text: string): Uint8Array | undefined {
  if (!BASE64URL.test(text) || text.length % 4 === 1) return undefined;
  const buffer = Buffer.from(text, 'base64url');
  if (buffer.toString('base64url') !== text) return undefined;
  return new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.byteLength);
}

/**
 * A zod schema for a base64url field that decodes to bytes, with an exact length or a maximum.
 * @param bytes - `{ exact }` or `{ max }` decoded length
 */
export function base64urlBytes(bytes: { exact: number } | { max: number }) {
  const maxChars = Math.ceil((('exact' in bytes ? bytes.exact : bytes.max) * 4) / 3);
  return z
    .string()
    .max(maxChars)
    .transform((text, ctx) => {
      const decoded = fromBase64url(text);
      if (decoded === undefined) {
        ctx.addIssue({ code: 'custom', message: 'not base64url' });
        return z.NEVER;
      }
      if ('exact' in bytes ? decoded.length !== bytes.exact : decoded.length > bytes.max) {
        ctx.addIssue({ code: 'custom', message: 'wrong length' });
        return z.NEVER;
      }
      return decoded;
    });
}
