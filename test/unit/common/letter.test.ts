/**
 * Letters v2, layer by layer: the signed letter (sign, open, verify against the registered key,
 * the recipient and the session's sender), the sealed frame around the ratchet message, and both
 * together through real libsignal sessions, where the attacks a v1 letter allowed must fail.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { generateIdentityKeys, randomBytes, seal } from '../../../common/crypto/index.js';
import {
  encodeCanonical,
  LETTER_KINDS,
  isBodylessKind,
  openRatchetLetter,
  openSignedLetter,
  padToSizeClass,
  sealRatchetLetter,
  signLetter,
  signValue,
  TAGS,
  verifyLetter,
  type Letter,
  type LetterKind,
} from '../../../common/wire/index.js';
import { closeParties, openAt, ratchetLetter, ratchetParties } from '../../support/ratchet-pair.js';

// Hand-made frames are padded as sealRatchetLetter pads them, so what is refused is their content.
const sealPadded = (plaintext: Uint8Array, boxPublic: Uint8Array) =>
  seal(padToSizeClass(plaintext), boxPublic);

const letterFrom = (from: string, to: string, body = 'hello'): Letter => ({
  v: 2,
  kind: 'text',
  from,
  to,
  sentAt: Date.now(),
  id: randomBytes(16),
  body,
});

/** Signs, then opens the signed letter as the ratchet would hand it over. */
const openedSigned = (letter: Letter, signSecret: Uint8Array) => {
  const opened = openSignedLetter(signLetter(letter, signSecret));
  if (!opened.ok) throw opened.error;
  return opened.value;
};

describe('signed letters', () => {
  const alice = generateIdentityKeys();
  const bob = generateIdentityKeys();

  it('opens and verifies a letter against the registered key and the session sender', () => {
    const opened = openedSigned(letterFrom('alice', 'bob', 'solidarity ✊'), alice.signSecret);
    const verified = verifyLetter(opened, alice.signPublic, 'bob', 'alice');
    expect(verified.ok && verified.value.body).toBe('solidarity ✊');
  });

  it('refuses a letter whose inner from does not match its signer', () => {
    const mallory = generateIdentityKeys();
    // Mallory signs with her own key but claims to be alice.
    const opened = openedSigned(letterFrom('alice', 'bob'), mallory.signSecret);
    const verified = verifyLetter(opened, alice.signPublic, 'bob', 'alice');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/bad signature/);
  });

  it('refuses a re-addressed letter', () => {
    const opened = openedSigned(letterFrom('alice', 'bob'), alice.signSecret);
    const verified = verifyLetter(opened, alice.signPublic, 'carol', 'alice');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/re-addressed/);
  });

  it('refuses a letter signed by the session sender but naming someone else as its author', () => {
    // Alice signs a letter "from carol" and sends it in her own session: the signature holds
    // (it is her key), but the session it came in is not carol's.
    const opened = openedSigned(letterFrom('carol', 'bob'), alice.signSecret);
    const verified = verifyLetter(opened, alice.signPublic, 'bob', 'alice');
    expect(verified.ok).toBe(false);
    if (!verified.ok) {
      expect(verified.error.code).toBe('LETTER_INVALID');
      expect(verified.error.message).toMatch(/signed by @carol came in @alice's session/);
    }
  });

  it('refuses garbage, letters of the wrong shape, v1 letters and the wrong tag', () => {
    expect(openSignedLetter(new TextEncoder().encode('not cbor at all')).ok).toBe(false);
    expect(openSignedLetter(new Uint8Array(0)).ok).toBe(false);
    // The v1 tag is not a Tag any more: cast, to sign under it all the same.
    const envelope = (tag: string, value: unknown) => {
      const { bytes, sig } = signValue(tag as typeof TAGS.letter, value, alice.signSecret);
      return encodeCanonical({ signed: bytes, sig });
    };
    const extra = envelope(TAGS.letter, { ...letterFrom('alice', 'bob'), admin: true });
    expect(openSignedLetter(extra).ok).toBe(false);
    const v1 = envelope(TAGS.letter, { ...letterFrom('alice', 'bob'), v: 1 });
    expect(openSignedLetter(v1).ok).toBe(false);
    const v1Tag = envelope('komrade/letter/v1', letterFrom('alice', 'bob'));
    expect(openSignedLetter(v1Tag).ok).toBe(false);
    const asPost = envelope(TAGS.post, letterFrom('alice', 'bob'));
    expect(openSignedLetter(asPost).ok).toBe(false);
    // An envelope with a field too many is refused too.
    const { bytes, sig } = signValue(TAGS.letter, letterFrom('alice', 'bob'), alice.signSecret);
    expect(openSignedLetter(encodeCanonical({ signed: bytes, sig, extra: 1 })).ok).toBe(false);
    expect(openSignedLetter(encodeCanonical({ signed: bytes, sig: sig.subarray(1) })).ok).toBe(
      false,
    );
  });

  it('refuses a signature that was tampered with', () => {
    const opened = openedSigned(letterFrom('alice', 'bob'), alice.signSecret);
    const sig = opened.sig.slice();
    sig[5] = sig[5]! ^ 0x01;
    expect(verifyLetter({ ...opened, sig }, alice.signPublic, 'bob', 'alice').ok).toBe(false);
    expect(verifyLetter(opened, bob.signPublic, 'bob', 'alice').ok).toBe(false);
  });
});

describe('the sealed frame around the ratchet message', () => {
  const bob = generateIdentityKeys();
  const frame = { v: 2, from: 'alice', type: 'message', msg: randomBytes(200) } as const;

  it('opens what was sealed to the recipient, to a size class', () => {
    const sealed = sealRatchetLetter(frame, bob.boxPublic);
    expect(sealed.length).toBe(1_024);
    const opened = openRatchetLetter(sealed, bob);
    if (!opened.ok) throw opened.error;
    expect(opened.value).toEqual(frame);
    const renewed = openRatchetLetter(
      sealRatchetLetter({ ...frame, type: 'prekey', renewed: true }, bob.boxPublic),
      bob,
    );
    expect(renewed.ok && renewed.value.renewed).toBe(true);
  });

  it('refuses a tampered seal, a letter for someone else and a truncated one', () => {
    const alice = generateIdentityKeys();
    const sealed = sealRatchetLetter(frame, bob.boxPublic);
    const tampered = sealed.slice();
    tampered[60] = tampered[60]! ^ 0x40;
    expect(openRatchetLetter(tampered, bob).ok).toBe(false);
    expect(openRatchetLetter(sealed, alice).ok).toBe(false);
    expect(openRatchetLetter(sealed.subarray(0, 10), bob).ok).toBe(false);
  });

  it('refuses frames of the wrong shape', () => {
    const refused = (value: unknown) => {
      const opened = openRatchetLetter(sealPadded(encodeCanonical(value), bob.boxPublic), bob);
      expect(opened.ok, JSON.stringify(Object.keys(value as object))).toBe(false);
      if (!opened.ok) expect(opened.error.code).toBe('LETTER_INVALID');
    };
    refused({ ...frame, v: 1 });
    refused({ ...frame, type: 'whisper' });
    refused({ ...frame, msg: new Uint8Array(0) });
    refused({ ...frame, from: 'Alice' });
    refused({ ...frame, renewed: false });
    refused({ ...frame, extra: true });
    refused({ v: 2, from: 'alice', type: 'message' });
    // A v1 letter (a signed envelope, no frame) is not a v2 letter.
    const { bytes, sig } = signValue(
      TAGS.letter,
      { ...letterFrom('alice', 'bob'), v: 1 },
      generateIdentityKeys().signSecret,
    );
    refused({ signed: bytes, sig });
    const garbage = sealPadded(new TextEncoder().encode('not cbor'), bob.boxPublic);
    expect(openRatchetLetter(garbage, bob).ok).toBe(false);
  });
});

describe('every kind of letter', () => {
  const ann = generateIdentityKeys();
  const ofKind = (kind: LetterKind, body: string, from = 'ann', to = 'ben'): Letter => ({
    ...letterFrom(from, to, body),
    kind,
  });

  it('knows exactly the five kinds, and which carry no body', () => {
    expect(LETTER_KINDS).toEqual(['text', 'follow', 'unfollow', 'post', 'reset']);
    expect(LETTER_KINDS.filter(isBodylessKind)).toEqual(['follow', 'unfollow', 'reset']);
  });

  it.each([
    ['follow', ''],
    ['unfollow', ''],
    ['reset', ''],
    ['post', 'to my followers 📣'],
  ] as const)('round-trips a %s letter through sign, open and verify', (kind, body) => {
    const letter = ofKind(kind, body);
    const verified = verifyLetter(openedSigned(letter, ann.signSecret), ann.signPublic, 'ben');
    if (!verified.ok) throw verified.error;
    expect(verified.value).toEqual(letter);
  });

  it('refuses a bodyless letter that carries a body', () => {
    for (const kind of ['follow', 'unfollow', 'reset'] as const) {
      const opened = openSignedLetter(signLetter(ofKind(kind, 'sneaky text'), ann.signSecret));
      expect(opened.ok, kind).toBe(false);
      if (!opened.ok) expect(opened.error.code).toBe('LETTER_INVALID');
    }
  });

  it('refuses a kind this version does not know', () => {
    const { bytes, sig } = signValue(
      TAGS.letter,
      { ...letterFrom('ann', 'ben'), kind: 'repost' },
      ann.signSecret,
    );
    expect(openSignedLetter(encodeCanonical({ signed: bytes, sig })).ok).toBe(false);
  });

  it('refuses a post letter re-addressed to another follower', () => {
    const opened = openedSigned(ofKind('post', 'for ben only'), ann.signSecret);
    const verified = verifyLetter(opened, ann.signPublic, 'cat', 'ann');
    expect(verified.ok).toBe(false);
    if (!verified.ok) expect(verified.error.message).toMatch(/re-addressed/);
  });

  it('refuses a follow letter signed by someone other than its claimed follower', () => {
    const mallory = generateIdentityKeys();
    const opened = openedSigned(ofKind('follow', ''), mallory.signSecret);
    expect(verifyLetter(opened, ann.signPublic, 'ben', 'ann').ok).toBe(false);
  });
});

describe('letters through real sessions', () => {
  const parties = ratchetParties(['alice', 'bob', 'carol', 'mallory']);
  const [alice, bob, carol, mallory] = parties as [
    (typeof parties)[0],
    (typeof parties)[0],
    (typeof parties)[0],
    (typeof parties)[0],
  ];
  afterAll(() => {
    closeParties(parties);
  });

  it('opens a first message, the reply, and the next letter in the session', async () => {
    const first = await ratchetLetter(alice, bob, letterFrom('alice', 'bob', 'first'));
    const outer = openRatchetLetter(first, bob.keys);
    expect(outer.ok && outer.value.type).toBe('prekey');
    const opened = await openAt(bob, first, parties);
    expect(opened.ok && opened.letter.body).toBe('first');

    const reply = await ratchetLetter(bob, alice, letterFrom('bob', 'alice', 'reply'));
    expect(await openAt(alice, reply, parties)).toMatchObject({ ok: true });
    const next = await ratchetLetter(alice, bob, letterFrom('alice', 'bob', 'next'));
    const nextOuter = openRatchetLetter(next, bob.keys);
    expect(nextOuter.ok && nextOuter.value.type).toBe('message');
    const nextOpened = await openAt(bob, next, parties);
    expect(nextOpened.ok && nextOpened.letter.body).toBe('next');
  });

  it('refuses a forged signature inside a genuine ratchet message', async () => {
    // Mallory has a real session with bob, but signs a letter "from alice" with her own key and
    // puts alice's name beside the message: alice's session does not open it.
    const asAlice = await ratchetLetter(mallory, bob, letterFrom('alice', 'bob'), {
      frameFrom: 'alice',
    });
    expect(await openAt(bob, asAlice, parties)).toMatchObject({ ok: false, layer: 'ratchet' });
    // Under her own name the session opens it, and the signature is checked against alice's
    // key only if the frame says alice: here it names mallory, whose key did not sign "alice".
    const forged = await ratchetLetter(mallory, bob, letterFrom('alice', 'bob'), {
      signer: generateIdentityKeys(),
    });
    const refused = await openAt(bob, forged, parties);
    expect(refused).toMatchObject({ ok: false, layer: 'verify' });
    expect(!refused.ok && refused.reason).toMatch(/bad signature/);
  });

  it("refuses a letter signed by the session's sender that names another author", async () => {
    // Mallory signs with her own (registered) key a letter claiming to be from alice.
    const claimed = await ratchetLetter(mallory, bob, letterFrom('alice', 'bob'));
    const refused = await openAt(bob, claimed, parties);
    expect(refused).toMatchObject({ ok: false, layer: 'verify' });
    expect(!refused.ok && refused.reason).toMatch(/signed by @alice came in @mallory's session/);
  });

  it('refuses a letter re-addressed by its recipient', async () => {
    const toBob = letterFrom('alice', 'bob', 'for bob only');
    const signed = signLetter(toBob, alice.keys.signSecret);
    // Bob passes alice's signed letter on to carol in his own session, naming himself…
    const inBobsSession = await bob.ratchet.encrypt(carol.peer, signed);
    const asBob = sealRatchetLetter({ v: 2, from: 'bob', ...inBobsSession }, carol.keys.boxPublic);
    expect(await openAt(carol, asBob, parties)).toMatchObject({ ok: false, layer: 'verify' });
    // …or naming alice: her session with carol is not his to use.
    const again = await bob.ratchet.encrypt(carol.peer, signed);
    const asAlice = sealRatchetLetter({ v: 2, from: 'alice', ...again }, carol.keys.boxPublic);
    expect(await openAt(carol, asAlice, parties)).toMatchObject({ ok: false, layer: 'ratchet' });
    // And the signed letter itself says it was for bob.
    const atCarol = verifyLetter(
      openedSigned(toBob, alice.keys.signSecret),
      alice.keys.signPublic,
      'carol',
    );
    expect(atCarol.ok).toBe(false);
  });

  it('refuses a replayed letter at the ratchet', async () => {
    const letter = await ratchetLetter(carol, alice, letterFrom('carol', 'alice', 'once'));
    expect(await openAt(alice, letter, parties)).toMatchObject({ ok: true });
    expect(await openAt(alice, letter, parties)).toMatchObject({
      ok: false,
      layer: 'ratchet',
      reason: 'duplicate',
    });
  });
});
