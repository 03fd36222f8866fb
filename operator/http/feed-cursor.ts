/** The opaque feed cursor: base64url of postedAt (8 bytes, big-endian) ‖ post id (16 bytes). */
import { KomradeError } from '../../common/errors/index.js';
import { ID_BYTES, fromBase64url, toBase64url } from '../../common/wire/index.js';
import type { FeedPosition } from '../store/feed.js';

const CURSOR_BYTES = 8 + ID_BYTES;

/** Encodes the position after which the next page starts. */
export function encodeFeedCursor(position: FeedPosition): string {
  const bytes = new Uint8Array(CURSOR_BYTES);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(position.postedAt));
  bytes.set(position.id, 8);
  return toBase64url(bytes);
}

/**
 * Decodes a cursor from a client, strictly.
 * @throws KomradeError `BAD_REQUEST` for anything {@link encodeFeedCursor} could not have made
 */
export function decodeFeedCursor(cursor: string): FeedPosition {
  const bytes = fromBase64url(cursor);
  if (bytes?.length !== CURSOR_BYTES) {
    throw new KomradeError('BAD_REQUEST', 'Malformed feed cursor.');
  }
  const postedAt = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0);
  if (postedAt > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw new KomradeError('BAD_REQUEST', 'Malformed feed cursor.');
  }
  return { postedAt: Number(postedAt), id: bytes.slice(8) };
}
