/**
 * C2SP checkpoints (https://c2sp.org/tlog-checkpoint): a signed note whose text is the log's
 * origin, its tree size in decimal and its base64 root hash, one per line, then optional opaque
 * extension lines. The log signs with its Ed25519 key; witnesses may add cosignatures.
 */
import { KomradeError, err, ok, type Result } from '../errors/index.js';
import { HASH_BYTES, isHash, isTreeSize } from './merkle-hash.js';
import {
  decodeBase64Strict,
  openSignedNote,
  signNote,
  type NoteSigner,
  type NoteVerifier,
} from './signed-note.js';

/** Bytes any one checkpoint line may have (origin, size, root, each extension line). */
export const MAX_CHECKPOINT_LINE_BYTES = 1024;
/** Extension lines a checkpoint may carry; Komrade's own checkpoints carry none. */
export const MAX_CHECKPOINT_EXTENSIONS = 16;

/** A log's tree head at one size. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** Opaque extension lines, kept as they came (the spec makes them optional, NOT RECOMMENDED). */
  readonly extensions: readonly string[];
}

/** A checkpoint whose log signature verified, with the witnesses that cosigned it. */
export interface VerifiedCheckpoint {
  readonly checkpoint: Checkpoint;
  /** The checkpoint's note text exactly as signed (what gossip and evidence should carry). */
  readonly text: string;
  readonly witnesses: readonly string[];
}

const bad = (message: string): Result<never> => err(new KomradeError('DECODE_FAILED', message));

const lineFits = (line: string): boolean =>
  line.length > 0 && Buffer.byteLength(line, 'utf8') <= MAX_CHECKPOINT_LINE_BYTES;

/** The note text of `checkpoint`. Throws BAD_REQUEST on a field the format cannot carry. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, rootHash, extensions } = checkpoint;
  const lines = [origin, String(size), Buffer.from(rootHash).toString('base64'), ...extensions];
  const clean = lines.every((line) => lineFits(line) && !line.includes('\n'));
  if (!clean || !isTreeSize(size) || !isHash(rootHash)) {
    throw new KomradeError('BAD_REQUEST', 'checkpoint field cannot be formatted');
  }
  if (extensions.length > MAX_CHECKPOINT_EXTENSIONS) {
    throw new KomradeError('BAD_REQUEST', 'too many checkpoint extension lines');
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Parses checkpoint note text strictly: at least three non-empty lines, a decimal size with no
 * leading zero (and no sign, space or value beyond 2^53 − 1), the canonical base64 of a 32-byte
 * root, non-empty extension lines, each line bounded. Never throws.
 */
export function parseCheckpoint(text: string): Result<Checkpoint> {
  if (typeof text !== 'string' || !text.endsWith('\n')) return bad('checkpoint must end in "\\n"');
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeLine, rootLine, ...extensions] = lines;
  if (origin === undefined || sizeLine === undefined || rootLine === undefined) {
    return bad('checkpoint needs origin, size and root lines');
  }
  if (!lines.every(lineFits)) return bad('checkpoint line is empty or too long');
  if (extensions.length > MAX_CHECKPOINT_EXTENSIONS) return bad('too many extension lines');
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeLine)) return bad('tree size is not canonical decimal');
  const size = Number(sizeLine);
  if (!isTreeSize(size)) return bad('tree size is too large');
  const rootHash = decodeBase64Strict(rootLine);
  if (rootHash?.length !== HASH_BYTES) return bad('root hash is not base64 of 32 bytes');
  return ok({ origin, size, rootHash, extensions });
}

/** Signs `checkpoint` as the log (`log`), then by any extra signers: the whole note. */
export function signCheckpoint(
  checkpoint: Checkpoint,
  log: NoteSigner,
  cosigners: readonly NoteSigner[] = [],
): string {
  return signNote(formatCheckpoint(checkpoint), [log, ...cosigners]);
}

/** What {@link openCheckpoint} trusts. */
export interface CheckpointTrust {
  /** The origin line the log must use. */
  readonly origin: string;
  /** The log's own key: its signature is required. */
  readonly log: NoteVerifier;
  /** Witness keys whose cosignatures are checked and reported (unknown ones are ignored). */
  readonly witnesses?: readonly NoteVerifier[];
}

/**
 * Opens a checkpoint note: the log's signature must verify, every signature from a known witness
 * must verify too (the spec's SHOULD reject), signatures from unknown keys are ignored, and the
 * origin must be the expected one. Never throws.
 */
export function openCheckpoint(
  note: string | Uint8Array,
  trust: CheckpointTrust,
): Result<VerifiedCheckpoint> {
  const opened = openSignedNote(note, [trust.log, ...(trust.witnesses ?? [])]);
  if (!opened.ok) return opened;
  const { text, verifiedBy } = opened.value;
  if (!verifiedBy.includes(trust.log)) {
    return err(new KomradeError('BAD_SIGNATURE', 'checkpoint lacks the log signature'));
  }
  const parsed = parseCheckpoint(text);
  if (!parsed.ok) return parsed;
  if (parsed.value.origin !== trust.origin) {
    return err(new KomradeError('BAD_SIGNATURE', 'checkpoint is from another log'));
  }
  const witnesses = verifiedBy.filter((v) => v !== trust.log).map((v) => v.name);
  return ok({ checkpoint: parsed.value, text, witnesses });
}
