/** Tor's bootstrap status: the `BOOTSTRAP` status line in GETINFO replies and STATUS_CLIENT events. */
import { parseKeywords } from './control-reply.js';

/** How far Tor has got connecting to the network; what the CLI and the Operator show. */
export interface BootstrapProgress {
  /** 0–100; 100 means Tor can build circuits. */
  readonly percent: number;
  /** Tor's stable machine tag for the phase, e.g. `loading_descriptors` or `done`. */
  readonly tag: string;
  /** Tor's human summary of the phase, e.g. `Loading relay descriptors`. */
  readonly summary: string;
  /** Present when Tor reports a problem while bootstrapping (severity WARN/ERR). */
  readonly warning?: string;
}

/**
 * Parses `[STATUS_CLIENT] NOTICE BOOTSTRAP PROGRESS=50 TAG=… SUMMARY="…"` (the value of
 * `GETINFO status/bootstrap-phase`, or the text of a STATUS_CLIENT event).
 *
 * @returns the progress, or `undefined` when the text is not a BOOTSTRAP status line.
 */
export function parseBootstrapPhase(text: string): BootstrapProgress | undefined {
  const { positional, keywords } = parseKeywords(text);
  if (!positional.includes('BOOTSTRAP')) return undefined;
  const progress = keywords.get('PROGRESS');
  if (progress === undefined || !/^\d{1,3}$/.test(progress)) return undefined;
  const percent = Math.min(100, Number(progress));
  const severity = positional.find((word) => word === 'WARN' || word === 'ERR');
  const warning = keywords.get('WARNING');
  return {
    percent,
    tag: keywords.get('TAG') ?? '',
    summary: keywords.get('SUMMARY') ?? '',
    ...(severity !== undefined && warning !== undefined ? { warning } : {}),
  };
}
