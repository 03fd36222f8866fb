/** Checking a v3 onion address before tor sees it (tor does not verify an `ob_config` checksum). */
import { createHash } from 'node:crypto';

const SHAPE = /^([a-z2-7]{56})\.onion$/;
const ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/**
 * True for `<56 characters>.onion` whose base32 decodes to a 32-byte key, a 2-byte checksum
 * (SHA3-256 of `.onion checksum`, the key and the version) and version 3 (rend-spec-v3 §6).
 */
export function isV3OnionAddress(address: string): boolean {
  const id = SHAPE.exec(address)?.[1];
  if (id === undefined) return false;
  const bytes: number[] = [];
  let value = 0;
  let bits = 0;
  for (const char of id) {
    value = ((value << 5) | ALPHABET.indexOf(char)) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      bytes.push((value >>> bits) & 0xff);
    }
  }
  const raw = Buffer.from(bytes);
  if (raw.length !== 35 || raw[34] !== 3) return false;
  const key = raw.subarray(0, 32);
  const checksum = createHash('sha3-256')
    .update(Buffer.concat([Buffer.from('.onion checksum'), key, Buffer.from([3])]))
    .digest()
    .subarray(0, 2);
  return checksum.equals(raw.subarray(32, 34));
}
