/**
 * C2SP signed notes (https://c2sp.org/signed-note) with Ed25519 signatures: a text ending in a
 * newline, a blank line, then one line per signature: an em dash, a space, the key name, a space,
 * base64(key ID ‖ signature).
 * Parsing is strict and bounded; verification follows the spec: signatures from unknown keys are
 * ignored, a known key's bad signature rejects the whole note, and at least one must verify.
 */
import { createHash } from 'node:crypto';
import { signDetached, verifyDetached } from '../crypto/index.js';
import { KomradeError, err, ok, type Result } from '../errors/index.js';

/** Bytes a note may have in all: room for 16+ post-quantum cosignatures (~3.3 KB each). */
export const MAX_NOTE_BYTES = 64 * 1024;
/** Signature lines a note may carry (the spec requires accepting at least 16). */
export const MAX_NOTE_SIGNATURES = 32;
/** Bytes a key name may have. */
export const MAX_KEY_NAME_BYTES = 256;

const ED25519_TYPE = 0x01;
const ED25519_PUBLIC_BYTES = 32;
const ED25519_SIGNATURE_BYTES = 64;
const KEY_ID_BYTES = 4;
const SIGNATURE_PREFIX = '\u2014 ';

/** One parsed signature line; `signature` is what follows the 4-byte key ID. */
export interface NoteSignature {
  readonly name: string;
  /** The big-endian uint32 key ID. */
  readonly keyId: number;
  readonly signature: Uint8Array;
}

/** A note split into its text (with its final newline) and its signature lines. */
export interface SignedNote {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A key that may verify notes: its name, Ed25519 public key and derived key ID. */
export interface NoteVerifier {
  readonly name: string;
  readonly keyId: number;
  readonly publicKey: Uint8Array;
}

/** A key that signs notes (libsodium's 64-byte Ed25519 secret key). */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  readonly signSecret: Uint8Array;
}

/** A note whose text a trusted key vouched for, and every trusted key that did (in note order). */
export interface VerifiedNote {
  readonly text: string;
  readonly verifiedBy: readonly NoteVerifier[];
}

const bad = (message: string): Result<never> => err(new KomradeError('DECODE_FAILED', message));

/** True for a legal key name: non-empty, bounded, no Unicode space and no '+'. */
export function isNoteKeyName(name: unknown): name is string {
  return (
    typeof name === 'string' &&
    name.length > 0 &&
    Buffer.byteLength(name, 'utf8') <= MAX_KEY_NAME_BYTES &&
    !/[\s+]/u.test(name) &&
    isCleanText(name)
  );
}

/** Key ID = SHA-256(name ‖ 0x0A ‖ 0x01 ‖ 32-byte Ed25519 public key)[:4], big-endian. */
export function noteKeyId(name: string, publicKey: Uint8Array): number {
  const digest = createHash('sha256')
    .update(Buffer.from(`${name}\n`, 'utf8'))
    .update(Uint8Array.of(ED25519_TYPE))
    .update(publicKey)
    .digest();
  return digest.readUInt32BE(0);
}

/** A verifier for `name`'s Ed25519 `publicKey`. Throws on an illegal name or key length. */
export function noteVerifier(name: string, publicKey: Uint8Array): NoteVerifier {
  if (!isNoteKeyName(name)) throw new KomradeError('KEY_INVALID', 'illegal note key name');
  if (publicKey.length !== ED25519_PUBLIC_BYTES) {
    throw new KomradeError('KEY_INVALID', 'an Ed25519 public key is 32 bytes');
  }
  return { name, keyId: noteKeyId(name, publicKey), publicKey: Uint8Array.from(publicKey) };
}

/** A signer for `name` from an identity's Ed25519 key pair. */
export function noteSigner(
  name: string,
  keys: { readonly signSecret: Uint8Array; readonly signPublic: Uint8Array },
): NoteSigner {
  const verifier = noteVerifier(name, keys.signPublic);
  return { name, keyId: verifier.keyId, signSecret: keys.signSecret };
}

/** Standard base64 with padding, decoded only when it is the one canonical encoding. */
export function decodeBase64Strict(text: string): Uint8Array | undefined {
  if (text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  return bytes.toString('base64') === text ? new Uint8Array(bytes) : undefined;
}

/** Valid UTF-8 (no lone surrogates) and no ASCII control character other than newline. */
function isCleanText(text: string): boolean {
  if (/[\u0000-\u0009\u000b-\u001f]/.test(text)) return false;
  return Buffer.from(text, 'utf8').toString('utf8') === text;
}

/** True for note text the spec allows: clean text ending in a newline. */
function isNoteText(text: string): boolean {
  return text.length > 0 && text.endsWith('\n') && isCleanText(text);
}

/** Parses a signed note strictly; never throws. Signatures are not checked here. */
export function parseSignedNote(input: string | Uint8Array): Result<SignedNote> {
  let note: string;
  if (typeof input === 'string') {
    if (input.length > MAX_NOTE_BYTES || Buffer.byteLength(input, 'utf8') > MAX_NOTE_BYTES) {
      return bad('note is too large');
    }
    note = input;
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_NOTE_BYTES) return bad('note is too large');
    try {
      note = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(input);
    } catch {
      return bad('note is not UTF-8');
    }
  } else {
    return bad('note is not text');
  }
  if (!isCleanText(note)) return bad('note has control characters or is not UTF-8');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) return bad('note has no signature block');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (!isNoteText(text)) return bad('note text is malformed');
  if (!block.endsWith('\n')) return bad('signature block must end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) return bad('note has too many signatures');
  const signatures: NoteSignature[] = [];
  for (const line of lines) {
    if (!line.startsWith(SIGNATURE_PREFIX)) return bad('malformed signature line');
    const fields = line.slice(SIGNATURE_PREFIX.length).split(' ');
    const [name, encoded] = fields;
    if (fields.length !== 2 || name === undefined || encoded === undefined) {
      return bad('malformed signature line');
    }
    if (!isNoteKeyName(name)) return bad('illegal key name in a signature line');
    const bytes = decodeBase64Strict(encoded);
    if (bytes === undefined || bytes.length <= KEY_ID_BYTES) return bad('malformed signature');
    signatures.push({
      name,
      keyId: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).readUInt32BE(0),
      signature: bytes.slice(KEY_ID_BYTES),
    });
  }
  return ok({ text, signatures });
}

/** One signature line for `text` by `signer`, with its final newline. */
export function noteSignatureLine(text: string, signer: NoteSigner): string {
  const signature = signDetached(Buffer.from(text, 'utf8'), signer.signSecret);
  const bytes = Buffer.alloc(KEY_ID_BYTES + signature.length);
  bytes.writeUInt32BE(signer.keyId, 0);
  bytes.set(signature, KEY_ID_BYTES);
  return `${SIGNATURE_PREFIX}${signer.name} ${bytes.toString('base64')}\n`;
}

/** Signs `text` (which must end in a newline) by every signer, in order: the note as a string. */
export function signNote(text: string, signers: readonly NoteSigner[]): string {
  if (!isNoteText(text)) {
    throw new KomradeError('BAD_REQUEST', 'note text must be clean lines ending in a newline');
  }
  if (signers.length === 0 || signers.length > MAX_NOTE_SIGNATURES) {
    throw new KomradeError('BAD_REQUEST', 'a note needs 1 to 32 signatures');
  }
  return `${text}\n${signers.map((signer) => noteSignatureLine(text, signer)).join('')}`;
}

/** Formats a parsed note back to text (round-trips {@link parseSignedNote}). */
export function formatSignedNote(note: SignedNote): string {
  const lines = note.signatures.map((s) => {
    const bytes = Buffer.alloc(KEY_ID_BYTES + s.signature.length);
    bytes.writeUInt32BE(s.keyId, 0);
    bytes.set(s.signature, KEY_ID_BYTES);
    return `${SIGNATURE_PREFIX}${s.name} ${bytes.toString('base64')}\n`;
  });
  return `${note.text}\n${lines.join('')}`;
}

/**
 * Adds `signer`'s signature to an already signed note (a witness cosigning), leaving the text and
 * the existing signatures untouched; a signature already there from the same key is replaced.
 */
export function cosignNote(input: string | Uint8Array, signer: NoteSigner): Result<string> {
  const parsed = parseSignedNote(input);
  if (!parsed.ok) return parsed;
  const others = parsed.value.signatures.filter(
    (s) => s.name !== signer.name || s.keyId !== signer.keyId,
  );
  if (others.length + 1 > MAX_NOTE_SIGNATURES) return bad('note has too many signatures');
  const text = parsed.value.text;
  return ok(`${formatSignedNote({ text, signatures: others })}${noteSignatureLine(text, signer)}`);
}

/**
 * Opens a signed note against the trusted `verifiers`. A signature whose name and key ID match no
 * verifier is ignored; one that matches must verify, or the whole note is refused (BAD_SIGNATURE);
 * with no verified signature at all the note is refused too. Never throws.
 */
export function openSignedNote(
  input: string | Uint8Array,
  verifiers: readonly NoteVerifier[],
): Result<VerifiedNote> {
  const parsed = parseSignedNote(input);
  if (!parsed.ok) return parsed;
  const { text, signatures } = parsed.value;
  const message = Buffer.from(text, 'utf8');
  const verifiedBy: NoteVerifier[] = [];
  for (const s of signatures) {
    const known = verifiers.filter((v) => v.name === s.name && v.keyId === s.keyId);
    if (known.length === 0) continue;
    const good =
      s.signature.length === ED25519_SIGNATURE_BYTES
        ? known.find((v) => verifyDetached(s.signature, message, v.publicKey))
        : undefined;
    if (good === undefined) {
      return err(new KomradeError('BAD_SIGNATURE', 'a trusted key signature does not verify'));
    }
    if (!verifiedBy.includes(good)) verifiedBy.push(good);
  }
  if (verifiedBy.length === 0) {
    return err(new KomradeError('BAD_SIGNATURE', 'no trusted key signed this note'));
  }
  return ok({ text, verifiedBy });
}
