/**
 * The `ChatSurface` port: the few things the engine asks of a chat platform (Telegram, Discord, a
 * terminal). Deliberately excluded: commands, buttons, formatting and rate limits, which each
 * implementation handles in its own way.
 */
import type { Constitution, ProposalChange } from '../../common/collectives/index.js';
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

/**
 * A message to a collective, verified against its sender's registered key and against the
 * collective's verified log (the sender was a member), ready to show.
 */
export interface CollectiveMessageForChat {
  readonly collective: string;
  readonly from: string;
  /** Who holds the sender's keys, from their verified receipt (show it as a trust label). */
  readonly senderKeyHolder: KeyHolder | null;
  /** When the sender says they sent it (ms since the epoch). */
  readonly sentAt: number;
  readonly text: string;
  /** The message's own id (base64url), chosen by its sender. */
  readonly id: string;
}

/** Something the engine tells a chat user on its own initiative. */
export type ChatNotice =
  | { readonly kind: 'send-failed'; readonly to: string; readonly code: string }
  | { readonly kind: 'sent'; readonly to: string }
  | { readonly kind: 'new-follower'; readonly name: string }
  /**
   * A session with `name` was replaced: `lost` when their letter could not be opened here (ask
   * them to send it again), else they started anew (lost theirs or restored a backup).
   */
  | { readonly kind: 'session-reset'; readonly name: string; readonly lost: boolean }
  /** A message to `collective` was given up on (e.g. the sender is no longer a member). */
  | { readonly kind: 'collective-send-failed'; readonly collective: string; readonly code: string }
  /** To members held by this adapter: someone asked to join. */
  | {
      readonly kind: 'collective-join-request';
      readonly collective: string;
      readonly candidate: string;
      readonly note: string;
      /** Vouches needed now. */
      readonly quorum: number;
    }
  /** To a candidate held by this adapter: a member vouched for them (and maybe admitted them). */
  | {
      readonly kind: 'collective-vouched';
      readonly collective: string;
      readonly voucher: string;
      readonly vouches: number;
      readonly quorum: number;
      readonly admitted: boolean;
    }
  /** To members held by this adapter: a member proposed a change; `proposal` is what `vote` takes. */
  | {
      readonly kind: 'collective-proposal';
      readonly collective: string;
      readonly proposal: number;
      readonly proposer: string;
      readonly change: ProposalChange;
      /** The constitution in force, so an amendment can be shown as what it changes. */
      readonly inForce: Constitution;
      readonly closesAt: number;
    }
  /** To members held by this adapter (a removed one included): a proposal was enacted. */
  | {
      readonly kind: 'collective-enacted';
      readonly collective: string;
      readonly proposal: number;
      readonly change: ProposalChange;
      /** The constitution in force until this enactment. */
      readonly before: Constitution;
    };

/**
 * Where the engine shows letters and notices. `chat` is the surface's own opaque address of a
 * chat user; the engine stores it encrypted and never sends it to the Operator.
 */
export interface ChatSurface {
  /**
   * Shows a letter. Resolves only once the platform accepted the message (the engine acknowledges
   * the letter at the Operator after that), with the platform's reference of the message.
   * @param delivery - the ledger's id of this delivery, the same on every retry (also after a
   * crash): a platform that drops a repeated send by a key of the sender's (Discord's message
   * `nonce`) can be given one derived from it
   * @throws anything the platform throws; the engine retries later
   */
  deliverLetter(chat: string, letter: LetterForChat, delivery?: string): Promise<string>;
  /**
   * Shows a collective message: name the collective and mark the sender with who holds their
   * keys. Same contract as {@link ChatSurface.deliverLetter}: resolve with the platform's
   * reference only once it accepted the message (a reply to it answers the collective).
   * @throws anything the platform throws; the engine retries later
   */
  deliverCollectiveMessage(
    chat: string,
    message: CollectiveMessageForChat,
    delivery?: string,
  ): Promise<string>;
  notify(chat: string, notice: ChatNotice): Promise<void>;
}
