import { describe, expect, it } from 'vitest';
import { generateIdentityKeys, randomBytes, seal } from '../../../common/crypto/index.js';
import {
  encodeCanonical,
  LETTER_KINDS,
  isBodylessKind,
  openLetter,
  padToSizeClass,
  sealLetter,
  signValue,
  TAGS,
  verifyLetter,
  type Letter,
  type LetterKind,
} from '../../../common/wire/index.js';

// Hand-made letters are padded as sealLetter pads them, so what is refused is their content.
const sealPadded = (plaintext: Uint8Array, boxPublic: Uint8Array) =>
  seal(padToSizeClass(plaintext), boxPublic);

const letterFrom = (from: string, to: string, body = 'hello'): Letter => ({
  v: 1,
  kind: 'text',
  from,
  to,
  sentAt: Date.now(),
  id: randomBytes(16),
  body,
});

describe('letters', () => {
  it('opens and verifies a letter against the registered key', () => {
    const alice = generateIdentityKeys();
    const bob = generateIdentityKeys();
    const sealed = sealLetter(
      letterFrom('alice', 'bob', 'solidarity ✊'),
      alice.signSecret,
      bob.boxPublic,
    );
    const opened = openLetter(sealed, bob);
    if (!opened.ok) throw opened.error;
    const verified = verifyLetter(opened.value, alice.signPublic, 'bob');
    expect(verified.ok && verified.value.body).toBe('solidarity ✊');
  });

  it('refuses a letter whose inner from does not match its signer', () => {
    const alice = generateIdentityKeys();
    const mallory = generateIdentityKeys();
    const bob = generateIdentityKeys();
    // Mallory signs with her own key but claims to be alice.
    const sealed = sealLetter(letterFrom('alice', 'bob'), mallory.signSecret, bob.boxPublic);
    const opened = openLetter(sealed, bob);
    if (!opened.ok) throw opened.error;
    const verified = verifyLetter(opened.value, alice.signPublic, 'bob');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/bad signature/);
  });

  it('refuses a re-addressed letter', () => {
    const alice = generateIdentityKeys();
    const bob = generateIdentityKeys();
    const carol = generateIdentityKeys();
    const toBob = sealLetter(letterFrom('alice', 'bob'), alice.signSecret, bob.boxPublic);
    const opened = openLetter(toBob, bob);
    if (!opened.ok) throw opened.error;
    // Bob re-seals alice's signed letter to carol, unchanged.
    const resealed = sealPadded(
      encodeCanonical({ signed: opened.value.signed, sig: opened.value.sig }),
      carol.boxPublic,
    );
    const atCarol = openLetter(resealed, carol);
    if (!atCarol.ok) throw atCarol.error;
    const verified = verifyLetter(atCarol.value, alice.signPublic, 'carol');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/re-addressed/);
  });

  it('refuses a tampered ciphertext and a letter for someone else', () => {
    const alice = generateIdentityKeys();
    const bob = generateIdentityKeys();
    const sealed = sealLetter(letterFrom('alice', 'bob'), alice.signSecret, bob.boxPublic);
    const tampered = sealed.slice();
    tampered[60] = tampered[60]! ^ 0x40;
    expect(openLetter(tampered, bob).ok).toBe(false);
    expect(openLetter(sealed, alice).ok).toBe(false);
    expect(openLetter(sealed.subarray(0, 10), bob).ok).toBe(false);
  });

  it('refuses well-sealed garbage and letters of the wrong shape', () => {
    const alice = generateIdentityKeys();
    const bob = generateIdentityKeys();
    const garbage = sealPadded(new TextEncoder().encode('not cbor at all'), bob.boxPublic);
    expect(openLetter(garbage, bob).ok).toBe(false);
    const extra = signValue(
      TAGS.letter,
      { ...letterFrom('alice', 'bob'), admin: true },
      alice.signSecret,
    );
    const withExtra = sealPadded(
      encodeCanonical({ signed: extra.bytes, sig: extra.sig }),
      bob.boxPublic,
    );
    const opened = openLetter(withExtra, bob);
    expect(opened.ok).toBe(false);
    const asPost = signValue(TAGS.post, letterFrom('alice', 'bob'), alice.signSecret);
    const wrongTag = sealPadded(
      encodeCanonical({ signed: asPost.bytes, sig: asPost.sig }),
      bob.boxPublic,
    );
    expect(openLetter(wrongTag, bob).ok).toBe(false);
  });
});

describe('follow, unfollow and post letters', () => {
  const ann = generateIdentityKeys();
  const ben = generateIdentityKeys();
  const ofKind = (kind: LetterKind, body: string, from = 'ann', to = 'ben'): Letter => ({
    ...letterFrom(from, to, body),
    kind,
  });
  const sealedVia = (letter: Letter, signer = ann, recipient = ben) =>
    sealLetter(letter, signer.signSecret, recipient.boxPublic);

  it('knows exactly the four kinds, and which carry no body', () => {
    expect(LETTER_KINDS).toEqual(['text', 'follow', 'unfollow', 'post']);
    expect(LETTER_KINDS.filter(isBodylessKind)).toEqual(['follow', 'unfollow']);
  });

  it.each([
    ['follow', ''],
    ['unfollow', ''],
    ['post', 'to my followers 📣'],
  ] as const)('round-trips a %s letter through seal, open and verify', (kind, body) => {
    const letter = ofKind(kind, body);
    const opened = openLetter(sealedVia(letter), ben);
    if (!opened.ok) throw opened.error;
    const verified = verifyLetter(opened.value, ann.signPublic, 'ben');
    if (!verified.ok) throw verified.error;
    expect(verified.value).toEqual(letter);
  });

  it('refuses a follow or unfollow letter that carries a body', () => {
    for (const kind of ['follow', 'unfollow'] as const) {
      const opened = openLetter(sealedVia(ofKind(kind, 'sneaky text')), ben);
      expect(opened.ok).toBe(false);
      if (!opened.ok) expect(opened.error.code).toBe('LETTER_INVALID');
    }
  });

  it('refuses a kind this version does not know', () => {
    const signed = signValue(
      TAGS.letter,
      { ...letterFrom('ann', 'ben'), kind: 'repost' },
      ann.signSecret,
    );
    const sealed = sealPadded(
      encodeCanonical({ signed: signed.bytes, sig: signed.sig }),
      ben.boxPublic,
    );
    expect(openLetter(sealed, ben).ok).toBe(false);
  });

  it('refuses a post letter re-addressed to another follower', () => {
    const cat = generateIdentityKeys();
    const opened = openLetter(sealedVia(ofKind('post', 'for ben only')), ben);
    if (!opened.ok) throw opened.error;
    const resealed = sealPadded(
      encodeCanonical({ signed: opened.value.signed, sig: opened.value.sig }),
      cat.boxPublic,
    );
    const atCat = openLetter(resealed, cat);
    if (!atCat.ok) throw atCat.error;
    const verified = verifyLetter(atCat.value, ann.signPublic, 'cat');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/re-addressed/);
  });

  it('refuses a follow letter signed by someone other than its claimed follower', () => {
    const mallory = generateIdentityKeys();
    const opened = openLetter(sealedVia(ofKind('follow', ''), mallory), ben);
    if (!opened.ok) throw opened.error;
    expect(verifyLetter(opened.value, ann.signPublic, 'ben').ok).toBe(false);
  });
});
