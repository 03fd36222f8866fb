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

/**
 * The most bytes the ratchet adds around a signed letter: a first message's PQXDH header (base
 * key, identity key, prekey ids, a 1,568-byte Kyber1024 ciphertext), the SignalMessage's header,
 * MAC and CBC padding (libsignal measured 1,760 for 1 KiB), and the outer `{v, from, type, msg}`
 * frame. test/unit/common/letter-padding.test.ts encrypts the longest letter as a first message
 * and checks it fits the largest size class.
 */
export const LETTER_RATCHET_FRAME_MAX_BYTES = 1_900;
/** The same for a collective message (a longer tag, the collective's name instead of `to`). */
export const COLLECTIVE_ENVELOPE_MAX_BYTES = 245;
/**
 * Largest text of a letter or a collective message: with the worst-case envelope, the 1-byte pad
 * marker and the encryption's overhead (48 for a sealed letter plus the ratchet's frame, 40 for a
 * collective body's AEAD) it fits the largest size class (64 KiB); a letter sent as a session's
 * first message, the largest case, comes closest.
 */
export const MAX_LETTER_TEXT_BYTES =
  MAX_SEALED_LETTER_BYTES -
  1 -
  Math.max(
    48 + LETTER_RATCHET_FRAME_MAX_BYTES + LETTER_ENVELOPE_MAX_BYTES,
    40 + COLLECTIVE_ENVELOPE_MAX_BYTES,
  );
/** Largest sealed body of a collective message (stored once, whatever the number of members). */
export const MAX_COLLECTIVE_BODY_BYTES = MAX_SEALED_LETTER_BYTES;
/**
 * Most recipients one collective message may name (one content-key envelope each). With the
 * Operator's default 4 MiB request limit, 5,000 continuing envelopes fit (~2.9 MB as JSON) but
 * only ~1,400 first messages (~2.8 KB each): the client refuses a larger request before sending.
 */
export const MAX_COLLECTIVE_RECIPIENTS = 5_000;
/**
 * The two lengths a collective message's content-key envelope has (sealed, +48): its plaintext
 * `{v:2, from, type, msg, renewed?}` carries the content key as a ratchet message and is padded
 * to one length for a continuing session (libsignal's SignalMessage, ~220 bytes with its
 * post-quantum ratchet chunk) and another for a first message (a PreKeySignalMessage, ~1,870
 * bytes with its Kyber1024 ciphertext). test/unit/common/letter-padding.test.ts checks the worst
 * cases fit. Two lengths tell the Operator which members the sender has no answered session with.
 */
export const COLLECTIVE_KEY_ENVELOPE_BYTES = 400;
export const COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES = 2_048;
/** Largest content-key envelope the Operator takes: a first message's. */
export const MAX_COLLECTIVE_KEY_ENVELOPE_BYTES = COLLECTIVE_FIRST_KEY_ENVELOPE_BYTES;
/** Most events one page of a collective's log holds. */
export const MAX_COLLECTIVE_LOG_PAGE = 1_000;
/** Largest signed collective event (a genesis with 64 founders and a constitution fits easily). */
export const MAX_COLLECTIVE_EVENT_BYTES = 8_192;
/** Most mailboxes one wait for mail may cover (one proof each). */
export const MAX_WAIT_MAILBOXES = 1_000;
/** Longest wait a client may ask for; the Operator caps it lower (`mail.maxWaitSeconds`). */
export const MAX_MAIL_WAIT_MS = 600_000;
