/**
 * Evidence that the Operator's registry log is inconsistent: what a client keeps (and shows) once
 * two things the Operator signed cannot both be true. All of it is public data (signed checkpoints,
 * proof hashes, a signed receipt's leaf), so anyone can check it again with the Operator's key.
 */
import { z } from 'zod';
import { KomradeError } from '../../common/errors/index.js';
import { MAX_CHECKPOINT_NOTE_BYTES, MAX_LOG_PROOF_HASHES } from '../../common/wire/index.js';

/**
 * What disagreed:
 * - `fork`: two checkpoints of the same size with different roots;
 * - `inconsistent`: a consistency proof the Operator gave between two checkpoints it signed fails;
 * - `not-included`: the inclusion proof of a receipt the Operator signed fails against the
 *   checkpoint it signed with it.
 */
export const LOG_EVIDENCE_KINDS = ['fork', 'inconsistent', 'not-included'] as const;
export type LogEvidenceKind = (typeof LOG_EVIDENCE_KINDS)[number];

/**
 * Where a checkpoint came from: the Operator's own answer, or a letter from another komrade
 * (`gossip from @name`).
 */
export type CheckpointSource = 'operator' | `gossip from @${string}`;

/** Evidence of an inconsistent log; a plain JSON-able object. */
export interface LogEvidence {
  readonly v: 1;
  readonly kind: LogEvidenceKind;
  /** What disagrees, in words (also the `LOG_INCONSISTENT` error's message). */
  readonly message: string;
  /** What was checked, e.g. `consistency 10 → 12 against the remembered root`. */
  readonly checked: string;
  /** Where the checkpoint that disagreed came from. */
  readonly source: CheckpointSource;
  /** When it was found (ms since the epoch). */
  readonly detectedAt: number;
  /** The checkpoint note this client had verified before (absent for `not-included`). */
  readonly remembered?: string;
  /** The signed checkpoint note that disagrees with it (or with the receipt's proof). */
  readonly presented: string;
  /** Consistency: the two tree sizes the proof is between (`from` ≤ `to`). */
  readonly from?: number;
  readonly to?: number;
  /** Inclusion: the receipt's leaf index and its leaf bytes (base64url of `receiptLeaf`). */
  readonly index?: number;
  readonly leaf?: string;
  /** The proof's hashes as the Operator gave them (base64url). */
  readonly hashes: readonly string[];
}

const note = z
  .string()
  .min(1)
  .refine((s) => Buffer.byteLength(s, 'utf8') <= MAX_CHECKPOINT_NOTE_BYTES);
const size = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

/** {@link LogEvidence} as stored (checked when read back from the local store). */
export const logEvidenceSchema = z.strictObject({
  v: z.literal(1),
  kind: z.enum(LOG_EVIDENCE_KINDS),
  message: z.string().max(4096),
  checked: z.string().max(4096),
  source: z.custom<CheckpointSource>(
    (s) => s === 'operator' || (typeof s === 'string' && /^gossip from @[a-z0-9_]{1,32}$/.test(s)),
  ),
  detectedAt: z.number().int().nonnegative(),
  remembered: note.optional(),
  presented: note,
  from: size.optional(),
  to: size.optional(),
  index: size.optional(),
  leaf: z.string().max(16_384).optional(),
  hashes: z.array(z.string().max(64)).max(MAX_LOG_PROOF_HASHES),
});

/** Decodes stored evidence; `undefined` for anything that is not evidence this version wrote. */
export function parseLogEvidence(json: string): LogEvidence | undefined {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    return undefined;
  }
  const parsed = logEvidenceSchema.safeParse(value);
  if (!parsed.success) return undefined;
  // Rebuilt field by field: optional fields absent, never present as undefined.
  const e = parsed.data;
  return {
    v: 1,
    kind: e.kind,
    message: e.message,
    checked: e.checked,
    source: e.source,
    detectedAt: e.detectedAt,
    presented: e.presented,
    hashes: e.hashes,
    ...(e.remembered === undefined ? {} : { remembered: e.remembered }),
    ...(e.from === undefined ? {} : { from: e.from }),
    ...(e.to === undefined ? {} : { to: e.to }),
    ...(e.index === undefined ? {} : { index: e.index }),
    ...(e.leaf === undefined ? {} : { leaf: e.leaf }),
  };
}

/** The error every Operator call throws once `evidence` is stored: the client has stopped. */
export function logInconsistentError(evidence: LogEvidence): KomradeError {
  return new KomradeError(
    'LOG_INCONSISTENT',
    `${evidence.message} The Operator showed two views of its registry that cannot both be ` +
      'true, so this client has stopped talking to it; the evidence is kept (see logEvidence()).',
  );
}
