/** Protocol size limits. The Operator may lower the configurable ones; it tells clients in /v1/operator. */

/** Bytes in a letter or post id. */
export const ID_BYTES = 16;
/** Bytes in a request nonce. */
export const NONCE_BYTES = 16;
/** Bytes in a proof-of-work nonce. */
export const POW_NONCE_BYTES = 8;
/** Hard ceiling for a sealed letter, whatever the config says (64 KiB). */
export const MAX_SEALED_LETTER_BYTES = 65_536;
/** Hard ceiling for a post's text in UTF-8 bytes. */
export const MAX_POST_BODY_BYTES = 8_192;
/** Hard ceiling for the letters in one send request. */
export const MAX_BATCH_LETTERS = 256;
/** Hard ceiling for ids in one ack. */
export const MAX_ACK_IDS = 1_000;
/** Hard ceiling for letters returned by one fetch. */
export const MAX_FETCH_LETTERS = 500;
/** Hard ceiling for posts in one feed page. */
export const MAX_FEED_PAGE = 100;
/** Hard ceiling for a post's lifetime in days. */
export const MAX_POST_DAYS = 365;
/** How far a signed request's time may be from the Operator's clock (±5 minutes). */
export const CLOCK_SKEW_MS = 5 * 60 * 1000;
/**
 * Most bytes a letter's signed envelope adds around a text (kind `text` or `post`): CBOR heads, the
 * type tag, two 32-character names, a 9-byte time, the id and the 64-byte signature.
 * test/unit/common/letter-padding.test.ts builds that worst case and checks this figure.
 */
export const LETTER_ENVELOPE_MAX_BYTES = 234;
/** The same for a collective message (a longer tag, the collective's name instead of `to`). */
export const COLLECTIVE_ENVELOPE_MAX_BYTES = 245;
/**
 * Largest text of a letter or a collective message: with the worst-case envelope, the 1-byte pad
 * marker and the encryption's overhead (48 for a sealed letter, 40 for a collective body's AEAD)
 * it fits the largest size class (64 KiB); a collective message's fills it exactly.
 */
export const MAX_LETTER_TEXT_BYTES =
  MAX_SEALED_LETTER_BYTES -
  1 -
  Math.max(48 + LETTER_ENVELOPE_MAX_BYTES, 40 + COLLECTIVE_ENVELOPE_MAX_BYTES);
/** Largest sealed body of a collective message (stored once, whatever the number of members). */
export const MAX_COLLECTIVE_BODY_BYTES = MAX_SEALED_LETTER_BYTES;
/** Most recipients one collective message may name (one content-key envelope each). */
export const MAX_COLLECTIVE_RECIPIENTS = 5_000;
/** Largest content-key envelope: a sealed `{collective, key}` (well under this). */
export const MAX_COLLECTIVE_KEY_ENVELOPE_BYTES = 256;
/**
 * The one length every content-key envelope has: its plaintext is padded to 128 bytes whatever the
 * collective's name, then sealed (+48).
 */
export const COLLECTIVE_KEY_ENVELOPE_BYTES = 176;
/** Most events one page of a collective's log holds. */
export const MAX_COLLECTIVE_LOG_PAGE = 1_000;
/** Largest signed collective event (a genesis with 64 founders and a constitution fits easily). */
export const MAX_COLLECTIVE_EVENT_BYTES = 8_192;
/** Most mailboxes one wait for mail may cover (one proof each). */
export const MAX_WAIT_MAILBOXES = 1_000;
/** Longest wait a client may ask for; the Operator caps it lower (`mail.maxWaitSeconds`). */
export const MAX_MAIL_WAIT_MS = 600_000;
