/**
 * The `ChatSurface` port: the few things the engine asks of a chat platform (Telegram, Discord, a
 * terminal). Deliberately excluded: commands, buttons, formatting and rate limits, which each
 * implementation handles in its own way.
 */
import type { KeyHolder } from '../../common/wire/index.js';

/** A verified letter, ready to show. */
export interface LetterForChat {
  readonly from: string;
  readonly to: string;
  /** When the sender says they sent it (ms since the epoch). */
  readonly sentAt: number;
  readonly text: string;
  /** True when the sender is not accepted yet: show it as a first contact to accept or block. */
  readonly firstContact: boolean;
  /**
   * Who holds the sender's keys, from their verified receipt: `self` (their own device) or an
   * adapter kind, which the chat should mark. `null` when the sender's receipt is gone.
   */
  readonly senderKeyHolder: KeyHolder | null;
  /** True for a post its author sent to their followers (show it as a post, not a letter). */
  readonly post: boolean;
}

/** Something the engine tells a chat user on its own initiative. */
export type ChatNotice =
  | { readonly kind: 'send-failed'; readonly to: string; readonly code: string }
  | { readonly kind: 'sent'; readonly to: string }
  | { readonly kind: 'new-follower'; readonly name: string };

/**
 * Where the engine shows letters and notices. `chat` is the surface's own opaque address of a
 * chat user; the engine stores it encrypted and never sends it to the Operator.
 */
export interface ChatSurface {
  /**
   * Shows a letter. Resolves only once the platform accepted the message (the engine acknowledges
   * the letter at the Operator after that), with the platform's reference of the message.
   * @throws anything the platform throws; the engine retries later
   */
  deliverLetter(chat: string, letter: LetterForChat): Promise<string>;
  notify(chat: string, notice: ChatNotice): Promise<void>;
}
