/** Bursts of letters the linker presumes one sender's (a post to followers, copy after copy). */
import type { DeliveredLetter } from './delivered-letters.js';

/**
 * Bursts, presumed one sender's (a post to followers, copy after copy): letters of one request;
 * letters on one circuit that no identified request used (a sender's circuit for anonymous
 * sends); else letters of one sealed size to different recipients arriving within `gap` ms of
 * each other. Letter key → burst.
 */
export function findBursts(
  letters: readonly DeliveredLetter[],
  gap: number,
  anonymous: (circuit: number | undefined) => boolean,
): Map<string, number> {
  const out = new Map<string, number>();
  let next = 0;
  const byCarrier = new Map<string, DeliveredLetter[]>();
  for (const letter of letters) {
    const { circuit, seq } = letter.request;
    const carrier = anonymous(circuit) ? `circuit ${String(circuit)}` : `request ${seq}`;
    const group = byCarrier.get(carrier) ?? [];
    group.push(letter);
    byCarrier.set(carrier, group);
  }
  for (const group of byCarrier.values()) {
    if (group.length < 2) continue;
    const burst = next++;
    for (const letter of group) out.set(letter.key, burst);
  }
  const single = letters.filter((l) => !out.has(l.key));
  const bySize = new Map<number, DeliveredLetter[]>();
  for (const letter of single) {
    const group = bySize.get(letter.sealed.length) ?? [];
    group.push(letter);
    bySize.set(letter.sealed.length, group);
  }
  for (const group of bySize.values()) {
    group.sort((a, b) => a.request.at - b.request.at);
    let run: DeliveredLetter[] = [];
    const close = (): void => {
      const recipients = new Set(run.map((l) => l.to));
      if (run.length >= 2 && recipients.size === run.length) {
        const burst = next++;
        for (const letter of run) out.set(letter.key, burst);
      }
      run = [];
    };
    for (const letter of group) {
      const last = run[run.length - 1];
      if (last !== undefined && letter.request.at - last.request.at > gap) close();
      run.push(letter);
    }
    close();
  }
  return out;
}
