/**
 * Every sealed letter and collective message is one of the size classes: what a letter is (text,
 * follow, unfollow, post) and how long it is say nothing beyond its class.
 */
import { describe, expect, it } from 'vitest';
import { checkMessageText } from '../../../client/core/message-text.js';
import {
  COLLECTIVE_BODY_OVERHEAD_BYTES,
  openCollectiveMessage,
  sealCollectiveMessage,
  verifyCollectiveMessage,
  type CollectiveMessage,
} from '../../../common/collectives/index.js';
import {
  AEAD_KEY_BYTES,
  aeadEncrypt,
  generateIdentityKeys,
  pad,
  randomBytes,
  seal,
  type IdentityKeys,
} from '../../../common/crypto/index.js';
import { KomradeError } from '../../../common/errors/index.js';
import {
  COLLECTIVE_ENVELOPE_MAX_BYTES,
  COLLECTIVE_KEY_ENVELOPE_BYTES,
  LETTER_ENVELOPE_MAX_BYTES,
  LETTER_KINDS,
  MAX_LETTER_TEXT_BYTES,
  SEALED_SIZE_CLASSES,
  SEAL_OVERHEAD_BYTES,
  TAGS,
  encodeCanonical,
  isBodylessKind,
  isSealedSizeClass,
  openLetter,
  padToSizeClass,
  sealLetter,
  signValue,
  verifyLetter,
  type Letter,
  type LetterKind,
} from '../../../common/wire/index.js';

const ann = generateIdentityKeys();
const ben = generateIdentityKeys();
const LONGEST_NAME = 'n'.repeat(32);
const OTHER_LONGEST = 'm'.repeat(32);

const letterOf = (kind: LetterKind, body: string, from = 'ann', to = 'ben'): Letter => ({
  v: 1,
  kind,
  from,
  to,
  sentAt: Date.now(),
  id: randomBytes(16),
  body,
});

// The worst case the text limit is computed for: 32-character names and the largest time.
const worst = (kind: LetterKind, body: string): Letter => ({
  ...letterOf(kind, body, LONGEST_NAME, OTHER_LONGEST),
  sentAt: Number.MAX_SAFE_INTEGER,
});

const sealedTo = (letter: Letter, recipient: IdentityKeys = ben) =>
  sealLetter(letter, ann.signSecret, recipient.boxPublic);

/** The unpadded plaintext length of a letter's envelope (what padding starts from). */
const envelopeLength = (letter: Letter) => {
  const { bytes, sig } = signValue(TAGS.letter, letter, ann.signSecret);
  return encodeCanonical({ signed: bytes, sig }).length;
};

const codeOf = (run: () => unknown): string | undefined => {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof KomradeError ? error.code : 'not a KomradeError';
  }
};

describe('letters are padded to size classes', () => {
  it('seals every kind with short content to 1,024 bytes', () => {
    for (const kind of LETTER_KINDS) {
      const letter = letterOf(kind, isBodylessKind(kind) ? '' : 'short');
      const sealed = sealedTo(letter);
      expect(sealed.length, kind).toBe(1_024);
      const opened = openLetter(sealed, ben);
      if (!opened.ok) throw opened.error;
      const verified = verifyLetter(opened.value, ann.signPublic, 'ben');
      if (!verified.ok) throw verified.error;
      expect(verified.value).toEqual(letter);
    }
  });

  it('makes a follow, an unfollow, a 10-character text and a post copy the same length', () => {
    const lengths = new Set([
      sealedTo(letterOf('follow', '')).length,
      sealedTo(letterOf('unfollow', '')).length,
      sealedTo(letterOf('text', 'ten chars!')).length,
      sealedTo(letterOf('post', 'A post to all my followers, copied to each 📣')).length,
      sealedTo(letterOf('follow', '', LONGEST_NAME, OTHER_LONGEST)).length,
    ]);
    expect([...lengths]).toEqual([1_024]);
  });

  it('lands texts of n-1, n and n+1 bytes around each class boundary in the right class', () => {
    const template = worst('text', '');
    for (const [index, size] of SEALED_SIZE_CLASSES.entries()) {
      // n: the longest text whose letter still fits this class.
      let n = size - SEAL_OVERHEAD_BYTES - 1 - envelopeLength(template);
      while (envelopeLength({ ...template, body: 'x'.repeat(n) }) + 1 + SEAL_OVERHEAD_BYTES > size)
        n--;
      while (
        envelopeLength({ ...template, body: 'x'.repeat(n + 1) }) + 1 + SEAL_OVERHEAD_BYTES <=
        size
      )
        n++;
      for (const length of [n - 1, n]) {
        const sealed = sealedTo({ ...template, body: 'x'.repeat(length) });
        expect(sealed.length, `${length} bytes`).toBe(size);
        // Past the text limit (only in the largest class) the seal holds it; opening refuses it.
        const opened = openLetter(sealed, ben);
        expect(opened.ok).toBe(length <= MAX_LETTER_TEXT_BYTES);
        if (opened.ok) expect(opened.value.letter.body.length).toBe(length);
      }
      const over = { ...template, body: 'x'.repeat(n + 1) };
      const next = SEALED_SIZE_CLASSES[index + 1];
      if (next === undefined) {
        expect(codeOf(() => sealedTo(over))).toBe('LETTER_TOO_LARGE');
      } else {
        expect(sealedTo(over).length, `${n + 1} bytes`).toBe(next);
      }
    }
  });
});

describe('the largest letter text', () => {
  it('fits the 64 KiB class with the worst-case letter envelope', () => {
    expect(MAX_LETTER_TEXT_BYTES).toBe(65_250);
    for (const kind of ['text', 'post'] as const) {
      const letter = worst(kind, 'x'.repeat(MAX_LETTER_TEXT_BYTES));
      expect(envelopeLength(letter) - MAX_LETTER_TEXT_BYTES).toBe(LETTER_ENVELOPE_MAX_BYTES);
      const sealed = sealLetter(letter, ann.signSecret, ben.boxPublic);
      expect(sealed.length).toBe(65_536);
      const opened = openLetter(sealed, ben);
      if (!opened.ok) throw opened.error;
      expect(Buffer.byteLength(opened.value.letter.body)).toBe(MAX_LETTER_TEXT_BYTES);
    }
  });

  it('fits with multi-byte characters too', () => {
    // 3-byte characters up to the limit, topped up with ASCII.
    const fist = '✊'.repeat(Math.floor(MAX_LETTER_TEXT_BYTES / 3));
    const body = fist + 'x'.repeat(MAX_LETTER_TEXT_BYTES - Buffer.byteLength(fist));
    expect(Buffer.byteLength(body)).toBe(MAX_LETTER_TEXT_BYTES);
    expect(sealLetter(worst('text', body), ann.signSecret, ben.boxPublic).length).toBe(65_536);
  });

  it('refuses one byte more with a clear "too long" before anything is signed', () => {
    const atMax = 'x'.repeat(MAX_LETTER_TEXT_BYTES);
    expect(() => {
      checkMessageText(atMax, 'letter', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    }).not.toThrow();
    // A collective message has the same limit.
    expect(() => {
      checkMessageText(atMax, 'message', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
    }).not.toThrow();
    const over = atMax + 'x';
    try {
      checkMessageText(over, 'letter', MAX_LETTER_TEXT_BYTES, 'LETTER_TOO_LARGE');
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(KomradeError);
      expect((error as KomradeError).code).toBe('LETTER_TOO_LARGE');
      expect((error as KomradeError).message).toBe(
        `The letter is ${MAX_LETTER_TEXT_BYTES + 1} bytes; a letter may have at most ${MAX_LETTER_TEXT_BYTES} bytes of text.`,
      );
    }
  });

  it('refuses, on opening, a letter whose body is over the limit even if it was sealed', () => {
    // Short names leave room in the class for a body over the limit: the schema still refuses it.
    const letter = letterOf('text', 'x'.repeat(MAX_LETTER_TEXT_BYTES + 1));
    const sealed = sealedTo(letter);
    expect(sealed.length).toBe(65_536);
    const opened = openLetter(sealed, ben);
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error.code).toBe('LETTER_INVALID');
  });
});

describe('a letter with bad padding is refused like any malformed letter', () => {
  const envelope = () => {
    const { bytes, sig } = signValue(TAGS.letter, letterOf('text', 'hello'), ann.signSecret);
    return encodeCanonical({ signed: bytes, sig });
  };
  const room = 1_024 - SEAL_OVERHEAD_BYTES;
  const refusal = (plaintext: Uint8Array) => {
    const opened = openLetter(seal(plaintext, ben.boxPublic), ben);
    expect(opened.ok).toBe(false);
    return opened.ok ? undefined : { code: opened.error.code, message: opened.error.message };
  };
  const malformed = { code: 'LETTER_INVALID', message: 'Letter is malformed.' };

  it('refuses no padding at all (a v1 letter), all zeros, a missing marker, junk after it', () => {
    const plain = envelope();
    expect(refusal(plain)).toEqual(malformed);
    expect(refusal(new Uint8Array(room))).toEqual(malformed);
    const noMarker = new Uint8Array(room);
    noMarker.set(plain);
    expect(refusal(noMarker)).toEqual(malformed);
    const junk = padToSizeClass(plain);
    junk[room - 1] = 0x01;
    expect(refusal(junk)).toEqual(malformed);
    const twoMarkers = padToSizeClass(plain);
    twoMarkers[room - 1] = 0x80;
    expect(refusal(twoMarkers)).toEqual(malformed);
  });

  it('refuses a well-padded plaintext whose length is not a class', () => {
    const plain = envelope();
    expect(refusal(pad(plain, 1_000))).toEqual(malformed);
    expect(refusal(pad(plain, room + 1))).toEqual(malformed);
  });

  it('gives the same answer as for garbage that is well padded', () => {
    expect(refusal(padToSizeClass(new TextEncoder().encode('not cbor')))).toEqual(malformed);
  });

  it('refuses sealed random bytes of every class without a throw', () => {
    for (const size of SEALED_SIZE_CLASSES) {
      const junk = seal(randomBytes(size - SEAL_OVERHEAD_BYTES), ben.boxPublic);
      expect(junk.length).toBe(size);
      expect(openLetter(junk, ben).ok).toBe(false);
    }
  });

  it('opens a letter padded to a larger class than it needs (a sender may pad up)', () => {
    const plain = envelope();
    const sealed = seal(pad(plain, 4_096 - SEAL_OVERHEAD_BYTES), ben.boxPublic);
    expect(sealed.length).toBe(4_096);
    expect(openLetter(sealed, ben).ok).toBe(true);
  });
});

describe('collective messages', () => {
  const members = [generateIdentityKeys(), generateIdentityKeys(), generateIdentityKeys()];
  const messageOf = (
    text: string,
    collective = 'reading_group',
    from = 'ann',
  ): CollectiveMessage => ({
    v: 1,
    collective,
    from,
    sentAt: Date.now(),
    id: randomBytes(16),
    text,
  });
  const recipients = () =>
    members.map((keys, i) => ({ name: `member${i}`, boxKey: keys.boxPublic }));

  const open = (sealed: ReturnType<typeof sealCollectiveMessage>, member = 0) =>
    openCollectiveMessage(sealed.keys[member]!.sealed, sealed.body, members[member]!);

  it('pads a short body to 1,024 and every key envelope to one fixed length', () => {
    for (const collective of ['abc', LONGEST_NAME]) {
      const sealed = sealCollectiveMessage(
        messageOf('hi', collective),
        ann.signSecret,
        recipients(),
      );
      expect(sealed.body.length).toBe(1_024);
      for (const key of sealed.keys) expect(key.sealed.length).toBe(COLLECTIVE_KEY_ENVELOPE_BYTES);
      const opened = open(sealed, 2);
      if (!opened.ok) throw opened.error;
      expect(verifyCollectiveMessage(opened.value, ann.signPublic).ok).toBe(true);
      expect(opened.value.message.text).toBe('hi');
    }
    expect(COLLECTIVE_KEY_ENVELOPE_BYTES).toBe(176);
  });

  it('fills the 64 KiB class exactly with the largest text and the worst-case envelope', () => {
    const worstMessage = (text: string): CollectiveMessage => ({
      ...messageOf(text, LONGEST_NAME, OTHER_LONGEST),
      sentAt: Number.MAX_SAFE_INTEGER,
    });
    const message = worstMessage('x'.repeat(MAX_LETTER_TEXT_BYTES));
    const { bytes, sig } = signValue(TAGS.collectiveMessage, message, ann.signSecret);
    const envelope = encodeCanonical({ signed: bytes, sig }).length - MAX_LETTER_TEXT_BYTES;
    expect(envelope).toBe(COLLECTIVE_ENVELOPE_MAX_BYTES);
    // Envelope, text, the 0x80 marker and the AEAD's nonce and tag: not a byte to spare.
    expect(envelope + MAX_LETTER_TEXT_BYTES + 1 + COLLECTIVE_BODY_OVERHEAD_BYTES).toBe(65_536);
    const sealed = sealCollectiveMessage(message, ann.signSecret, recipients());
    expect(sealed.body.length).toBe(65_536);
    const opened = open(sealed);
    if (!opened.ok) throw opened.error;
    expect(opened.value.message.text.length).toBe(MAX_LETTER_TEXT_BYTES);
    const over = worstMessage('x'.repeat(MAX_LETTER_TEXT_BYTES + 1));
    expect(codeOf(() => sealCollectiveMessage(over, ann.signSecret, recipients()))).toBe(
      'LETTER_TOO_LARGE',
    );
  });

  it('lands bodies in every class', () => {
    const seen = new Set<number>();
    for (const length of [10, 2_000, 10_000, 40_000]) {
      const sealed = sealCollectiveMessage(
        messageOf('y'.repeat(length)),
        ann.signSecret,
        recipients(),
      );
      expect(isSealedSizeClass(sealed.body.length)).toBe(true);
      seen.add(sealed.body.length);
    }
    expect([...seen]).toEqual([...SEALED_SIZE_CLASSES]);
  });

  // A body and key made by hand, to put malformed padding under a valid AEAD.
  const handMade = (bodyPlain: Uint8Array, keyPadding: 'padded' | 'bare' = 'padded') => {
    const key = randomBytes(AEAD_KEY_BYTES);
    const encodedKey = encodeCanonical([TAGS.collectiveKey, { collective: 'reading_group', key }]);
    const keyPlain =
      keyPadding === 'padded'
        ? pad(encodedKey, COLLECTIVE_KEY_ENVELOPE_BYTES - SEAL_OVERHEAD_BYTES)
        : encodedKey;
    const body = aeadEncrypt(bodyPlain, key, new TextEncoder().encode(TAGS.collectiveMessage));
    return openCollectiveMessage(seal(keyPlain, members[0]!.boxPublic), body, members[0]!);
  };
  const signedBody = () => {
    const { bytes, sig } = signValue(TAGS.collectiveMessage, messageOf('hello'), ann.signSecret);
    return encodeCanonical({ signed: bytes, sig });
  };

  it('opens a hand-made message padded right (the harness itself is sound)', () => {
    const opened = handMade(padToSizeClass(signedBody(), COLLECTIVE_BODY_OVERHEAD_BYTES));
    expect(opened.ok).toBe(true);
  });

  it('refuses a body with no padding, all zeros, or junk after the marker, without a throw', () => {
    const room = 1_024 - COLLECTIVE_BODY_OVERHEAD_BYTES;
    const bad = [
      signedBody(),
      new Uint8Array(room),
      (() => {
        const b = padToSizeClass(signedBody(), COLLECTIVE_BODY_OVERHEAD_BYTES);
        b[room - 1] = 0x02;
        return b;
      })(),
      pad(signedBody(), 1_000),
    ];
    for (const body of bad) {
      const opened = handMade(body);
      expect(opened.ok).toBe(false);
      if (!opened.ok) {
        expect(opened.error.code).toBe('LETTER_INVALID');
        expect(opened.error.message).toBe('Collective message is malformed.');
      }
    }
  });

  it('refuses a key envelope that is not padded to its fixed length', () => {
    const opened = handMade(padToSizeClass(signedBody(), COLLECTIVE_BODY_OVERHEAD_BYTES), 'bare');
    expect(opened.ok).toBe(false);
    if (!opened.ok) expect(opened.error.code).toBe('LETTER_INVALID');
  });
});
