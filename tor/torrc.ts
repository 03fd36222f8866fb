/** Writing torrc files: quoting values and refusing lines that could inject further options. */
import { TorError } from './tor-error.js';

/** Quotes a torrc value (a path, usually) with the C-style escapes Tor's config parser reads. */
export function torrcQuote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Joins torrc lines into a file body.
 *
 * @throws TOR_UNAVAILABLE when a line contains a line break or NUL (it would smuggle in options).
 */
export function renderTorrc(lines: readonly string[]): string {
  for (const line of lines) {
    if (/[\r\n\0]/.test(line)) {
      throw new TorError('a torrc line may not contain line breaks', { transient: false });
    }
  }
  return `${lines.join('\n')}\n`;
}
