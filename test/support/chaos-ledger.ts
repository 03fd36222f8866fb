/**
 * The chaos test's books: every letter carries a unique tag in its text, and the ledger records,
 * per letter, when it was sent, when its `/send` update was handed to the bot, and each time it
 * appeared at its recipient. At the end each letter is shown exactly once, duplicated, refused (the
 * sender was told it failed), stuck (shown only after one more clean restart) or lost.
 */
import { formatT, type ChaosTimeline } from './chaos-timeline.js';

export type Direction = 'telegram→cli' | 'cli→telegram';

/** One letter and what happened to it. */
export interface ChaosLetter {
  readonly tag: string;
  readonly direction: Direction;
  readonly from: string;
  readonly to: string;
  /** When the user sent it (the `/send`, or the CLI user's first try), ms since the start. */
  readonly sentAt: number;
  /** Telegram → CLI: each time getUpdates handed its `/send` to the bot. */
  readonly handedOut: number[];
  /** When each copy appeared at the recipient (Telegram took it, or the CLI stored it). */
  readonly shownAt: number[];
  /** CLI → Telegram: tries until the Operator took it, and when it did. */
  tries: number;
  acceptedAt?: number;
  /** CLI → Telegram: a refusal the CLI user was told about (no retry helps). */
  refusal?: string;
}

/**
 * `window`: shown twice, the bot SIGKILLed just after Telegram took the first copy and before it
 * could write that down — the one window docs/telegram.md says cannot be closed (Telegram has no
 * idempotency key). Reported, not failed.
 */
export type Outcome = 'once' | 'duplicated' | 'window' | 'refused' | 'stuck' | 'lost';

/** What {@link ChaosLedger.verdict} weighs besides the letters' own records. */
export interface VerdictInputs {
  /** Per Telegram sender, how many answers said a `/send` failed. */
  readonly told: ReadonlyMap<string, number>;
  /** Unshown letters that appeared only after one more clean restart. */
  readonly recovered: ReadonlySet<string>;
  /**
   * For a letter shown twice only because of the documented window: how long after Telegram took
   * the first copy the bot was SIGKILLed (ms); `undefined` otherwise.
   */
  readonly inWindow: (letter: ChaosLetter) => number | undefined;
  /** Lines printed under the table. */
  readonly extra: readonly string[];
}

/** The verdict on every letter, and the table printed at the end. */
export interface ChaosVerdict {
  readonly outcomes: ReadonlyMap<string, Outcome>;
  readonly counts: Readonly<Record<Outcome, number>>;
  readonly table: string;
  /** The story of every letter that was not shown exactly once. */
  readonly stories: string[];
}

/** Stories printed at most: the first ones tell what went wrong. */
const MAX_STORIES = 30;

const TAG = /\[ch-[0-9a-z]+-\d{4}\]/g;

/** Every tag in `text`. */
export const tagsIn = (text: string): string[] => text.match(TAG) ?? [];

export class ChaosLedger {
  readonly #timeline: ChaosTimeline;
  readonly #prefix: string;
  readonly letters = new Map<string, ChaosLetter>();
  #next = 1;

  constructor(seed: number, timeline: ChaosTimeline) {
    this.#prefix = `ch-${seed.toString(36)}`;
    this.#timeline = timeline;
  }

  /** Records a new letter and returns its tag, e.g. `[ch-1x2y3z-0042]`. */
  add(direction: Direction, from: string, to: string): ChaosLetter {
    const tag = `[${this.#prefix}-${String(this.#next++).padStart(4, '0')}]`;
    const letter: ChaosLetter = {
      tag,
      direction,
      from,
      to,
      sentAt: this.#timeline.now(),
      handedOut: [],
      shownAt: [],
      tries: 0,
    };
    this.letters.set(tag, letter);
    return letter;
  }

  /**
   * Each tag's copies at its recipient now (from the emulator's chats and the CLI stores), as the
   * wall-clock times they appeared.
   */
  observe(copies: ReadonlyMap<string, readonly number[]>): void {
    for (const letter of this.letters.values()) {
      const seen = copies.get(letter.tag) ?? [];
      if (seen.length <= letter.shownAt.length) continue;
      letter.shownAt.splice(
        0,
        letter.shownAt.length,
        ...seen.map((at) => this.#timeline.at(at)).sort((a, b) => a - b),
      );
    }
  }

  handedOut(tag: string): void {
    this.letters.get(tag)?.handedOut.push(this.#timeline.now());
  }

  /** Letters not shown yet, leaving out `refusedBy` per Telegram sender (see {@link verdict}). */
  unshown(): ChaosLetter[] {
    return [...this.letters.values()].filter((l) => l.shownAt.length === 0);
  }

  /**
   * Judges every letter. As many of a Telegram sender's unshown letters as answers told them a
   * `/send` failed count as refused (the user knows and can send again); answers are not linked
   * to their `/send`, so the oldest unshown ones are taken.
   */
  verdict({ told, recovered, inWindow, extra }: VerdictInputs): ChaosVerdict {
    const outcomes = new Map<string, Outcome>();
    const budget = new Map(told);
    const gaps = new Map<string, number>();
    const counts: Record<Outcome, number> = {
      once: 0,
      duplicated: 0,
      window: 0,
      refused: 0,
      stuck: 0,
      lost: 0,
    };
    for (const letter of this.letters.values()) {
      let outcome: Outcome;
      const shown = letter.shownAt.length;
      if (shown === 1) outcome = 'once';
      else if (shown > 1) {
        const gap = inWindow(letter);
        if (gap !== undefined) gaps.set(letter.tag, gap);
        outcome = gap === undefined ? 'duplicated' : 'window';
      } else if (recovered.has(letter.tag)) outcome = 'stuck';
      else if (letter.refusal !== undefined) outcome = 'refused';
      else if (letter.direction === 'telegram→cli' && (budget.get(letter.from) ?? 0) > 0) {
        budget.set(letter.from, (budget.get(letter.from) ?? 0) - 1);
        outcome = 'refused';
      } else outcome = 'lost';
      outcomes.set(letter.tag, outcome);
      counts[outcome]++;
    }
    const rows: string[][] = [
      ['direction', 'letters', 'once', 'duplicated', 'in window', 'refused', 'stuck', 'lost'],
    ];
    for (const direction of ['telegram→cli', 'cli→telegram'] as const) {
      const mine = [...this.letters.values()].filter((l) => l.direction === direction);
      const n = (o: Outcome) => String(mine.filter((l) => outcomes.get(l.tag) === o).length);
      rows.push([
        direction,
        String(mine.length),
        n('once'),
        n('duplicated'),
        n('window'),
        n('refused'),
        n('stuck'),
        n('lost'),
      ]);
    }
    const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
    const table = [
      ...rows.map((r) => r.map((cell, i) => cell.padStart(widths[i] ?? 0)).join('  ')),
      ...extra,
    ].join('\n');
    const bad = [...this.letters.values()].filter(
      (l) => outcomes.get(l.tag) !== 'once' && outcomes.get(l.tag) !== 'refused',
    );
    const stories = bad
      .slice(0, MAX_STORIES)
      .map((l) => this.#story(l, outcomes.get(l.tag) ?? 'lost', gaps.get(l.tag)));
    if (bad.length > MAX_STORIES) stories.push(`… and ${bad.length - MAX_STORIES} more`);
    return { outcomes, counts, table, stories };
  }

  #story(letter: ChaosLetter, outcome: Outcome, gap: number | undefined): string {
    const times = (list: readonly number[]) =>
      list.length === 0 ? '-' : list.map(formatT).join(', ');
    const last = Math.max(letter.sentAt, ...letter.handedOut, ...letter.shownAt);
    return [
      `${letter.tag} ${outcome.toUpperCase()}: ${letter.direction} @${letter.from} → @${letter.to}`,
      `  sent ${formatT(letter.sentAt)}` +
        (letter.direction === 'telegram→cli'
          ? `; /send handed to the bot at ${times(letter.handedOut)}`
          : `; ${letter.tries} tr${letter.tries === 1 ? 'y' : 'ies'}, Operator took it at ${letter.acceptedAt === undefined ? '-' : formatT(letter.acceptedAt)}`) +
        `; shown at ${times(letter.shownAt)}` +
        (gap === undefined ? '' : `; the bot was SIGKILLed ${gap} ms after the first`),
      ...this.#timeline.around(letter.sentAt - 1_000, last + 3_000).map((line) => `    ${line}`),
    ].join('\n');
  }
}
