/**
 * Known-answer tests: protocol vectors recomputed byte for byte (v1's, and letters v2's), plus
 * published KATs.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  KDF_INTERACTIVE,
  aeadDecrypt,
  aeadEncryptWithNonce,
  blake2b,
  deriveKeyFromPassphrase,
  identityKeysFromSecrets,
  openSeal,
  signDetached,
  verifyDetached,
} from '../../../common/crypto/index.js';
import {
  TAGS,
  checkProofOfWork,
  claimBytesForPow,
  encodeCanonical,
  openRatchetLetter,
  openSignedLetter,
  signLetter,
  signPost,
  signReceipt,
  signRequest,
  signValue,
  verifyLetter,
  verifyReceipt,
  type KeyHolder,
  type Letter,
  type Post,
} from '../../../common/wire/index.js';
import { ratchetKeyOf } from '../../../client/index.js';
import { registrationVectors } from '../../vectors/registration-vectors.js';

const V = JSON.parse(
  readFileSync(new URL('../../vectors/protocol-v1.json', import.meta.url), 'utf8'),
) as {
  keys: Record<
    string,
    { signSeed: string; boxSecret: string; signPublic: string; boxPublic: string }
  >;
  letter: {
    fields: Record<string, unknown> & { id: string };
    signed: string;
    sig: string;
    sealedToBob: string;
    openedPlaintext: string;
  };
  post: { fields: Record<string, unknown> & { id: string }; signed: string; sig: string };
  request: {
    method: string;
    path: string;
    name: string;
    at: number;
    nonce: string;
    body: string;
    authorization: string;
  };
  receipt: { name: string; keyHolder: KeyHolder; registeredAt: number; sig: string };
  pow: { keyHolder: KeyHolder; claimBytes: string; bits: number; nonce: string; hash: string };
  aead: { key: string; nonce: string; ad: string; plaintext: string; sealed: string };
  argon2id: {
    passphrase: string;
    salt: string;
    opsLimit: number;
    memLimitBytes: number;
    key: string;
  };
};

/** Letters v2: the signed letter, the sealed frame (a stand-in ratchet message) and ratchet keys. */
const V2 = JSON.parse(
  readFileSync(new URL('../../vectors/letters-v2.json', import.meta.url), 'utf8'),
) as {
  ratchetKeys: Record<string, string>;
  letter: {
    fields: Record<string, unknown> & { id: string };
    signed: string;
    sig: string;
    signedLetter: string;
  };
  frame: {
    fields: { v: number; from: string; type: string; msg: string };
    sealedToBob: string;
    openedPlaintext: string;
  };
};

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const keysOf = (who: string) => {
  const k = V.keys[who]!;
  return identityKeysFromSecrets(bytes(k.signSeed), bytes(k.boxSecret));
};

describe('published known answers', () => {
  it('Ed25519 matches RFC 8032 test 1', () => {
    const seed = bytes('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60');
    const keys = identityKeysFromSecrets(seed, new Uint8Array(32).fill(1));
    expect(hex(keys.signPublic)).toBe(
      'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    );
    expect(hex(signDetached(new Uint8Array(0), keys.signSecret))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
    );
  });

  it('BLAKE2b-512 matches RFC 7693 appendix A ("abc")', () => {
    expect(hex(blake2b(new TextEncoder().encode('abc'), 64))).toBe(
      'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
    );
  });
});

describe('protocol v1 vectors', () => {
  it('derives the fixed identities', () => {
    for (const who of ['alice', 'bob', 'operator']) {
      const keys = keysOf(who);
      expect(hex(keys.signPublic)).toBe(V.keys[who]!.signPublic);
      expect(hex(keys.boxPublic)).toBe(V.keys[who]!.boxPublic);
    }
  });

  it('still verifies the v1 letter signature (the crypto under letters is unchanged)', () => {
    expect(
      verifyDetached(bytes(V.letter.sig), bytes(V.letter.signed), keysOf('alice').signPublic),
    ).toBe(true);
    const bob = keysOf('bob');
    expect(hex(openSeal(bytes(V.letter.sealedToBob), bob.boxPublic, bob.boxSecret)!)).toBe(
      V.letter.openedPlaintext,
    );
  });

  it('refuses the v1 sealed letter: letters v2 replaced it', () => {
    expect(openRatchetLetter(bytes(V.letter.sealedToBob), keysOf('bob')).ok).toBe(false);
  });

  it('signs a post to the same bytes', () => {
    const post = { ...V.post.fields, id: bytes(V.post.fields.id) } as Post;
    const signed = signPost(post, keysOf('alice').signSecret);
    expect(hex(signed.signed)).toBe(V.post.signed);
    expect(hex(signed.sig)).toBe(V.post.sig);
  });

  it('produces the same Authorization header', () => {
    const r = V.request;
    expect(
      signRequest({
        method: r.method,
        path: r.path,
        name: r.name,
        at: r.at,
        nonce: bytes(r.nonce),
        body: bytes(r.body),
        signSecret: keysOf('bob').signSecret,
      }),
    ).toBe(r.authorization);
  });

  it('produces the same receipt signature', () => {
    const alice = keysOf('alice');
    const receipt = signReceipt(
      {
        name: 'alice',
        signKey: alice.signPublic,
        boxKey: alice.boxPublic,
        keyHolder: V.receipt.keyHolder,
        // Receipts signed before ratchet keys: without one, the signed bytes are unchanged.
        ratchetKey: null,
        registeredAt: V.receipt.registeredAt,
      },
      keysOf('operator').signSecret,
    );
    expect(hex(receipt.sig)).toBe(V.receipt.sig);
    expect(verifyReceipt(receipt, keysOf('operator').signPublic)).toBe(true);
    expect(
      verifyReceipt(
        { ...receipt, registeredAt: receipt.registeredAt + 1 },
        keysOf('operator').signPublic,
      ),
    ).toBe(false);
    // The key holder is countersigned: stripping the adapter label breaks the receipt.
    expect(verifyReceipt({ ...receipt, keyHolder: 'self' }, keysOf('operator').signPublic)).toBe(
      false,
    );
  });

  it('recomputes the registration vectors exactly (the nonce is the first from zero)', () => {
    expect(
      registrationVectors({
        alice: keysOf('alice'),
        operator: keysOf('operator'),
        receipt: { keyHolder: V.receipt.keyHolder, registeredAt: V.receipt.registeredAt },
        pow: { keyHolder: V.pow.keyHolder, bits: V.pow.bits },
      }),
    ).toEqual({ receipt: V.receipt, pow: V.pow });
  });

  it('checks the proof-of-work vector', () => {
    const alice = keysOf('alice');
    const claimBytes = claimBytesForPow({
      name: 'alice',
      signKey: alice.signPublic,
      boxKey: alice.boxPublic,
      keyHolder: V.pow.keyHolder,
      ratchetKey: null,
    });
    expect(hex(claimBytes)).toBe(V.pow.claimBytes);
    expect(hex(blake2b(new Uint8Array([...claimBytes, ...bytes(V.pow.nonce)]), 32))).toBe(
      V.pow.hash,
    );
    expect(checkProofOfWork(claimBytes, bytes(V.pow.nonce), V.pow.bits)).toBe(true);
  });

  it('encrypts at rest to the same bytes and refuses tampering', () => {
    const a = V.aead;
    const ad = new TextEncoder().encode(a.ad);
    const sealed = aeadEncryptWithNonce(
      new TextEncoder().encode(a.plaintext),
      bytes(a.key),
      ad,
      bytes(a.nonce),
    );
    expect(hex(sealed)).toBe(a.sealed);
    expect(new TextDecoder().decode(aeadDecrypt(sealed, bytes(a.key), ad))).toBe(a.plaintext);
    const tampered = sealed.slice();
    tampered[30] = tampered[30]! ^ 1;
    expect(aeadDecrypt(tampered, bytes(a.key), ad)).toBeUndefined();
    expect(aeadDecrypt(sealed, bytes(a.key), new TextEncoder().encode('other'))).toBeUndefined();
  });

  it('derives the same Argon2id key', () => {
    const k = V.argon2id;
    expect(k.opsLimit).toBe(KDF_INTERACTIVE.opsLimit);
    expect(hex(deriveKeyFromPassphrase(k.passphrase, bytes(k.salt), KDF_INTERACTIVE))).toBe(k.key);
  });

  it('keeps the canonical encoding stable', () => {
    // Map keys sort by encoded length then bytes (RFC 8949 §4.2.1), whatever the insertion order.
    expect(hex(encodeCanonical({ bb: 1, a: 2, c: new Uint8Array([1]) }))).toBe(
      'a361610261634101626262 01'.replace(' ', ''),
    );
    expect(
      verifyDetached(bytes(V.letter.sig), bytes(V.letter.signed), keysOf('alice').signPublic),
    ).toBe(true);
  });
});

describe('letters v2 vectors', () => {
  const letter = { ...V2.letter.fields, id: bytes(V2.letter.fields.id) } as Letter;

  it('derives the fixed ratchet keys from the identities', () => {
    for (const who of ['alice', 'bob']) {
      expect(hex(ratchetKeyOf(keysOf(who)))).toBe(V2.ratchetKeys[who]);
    }
  });

  it('signs a letter to the same bytes and signature', () => {
    const { bytes: signed, sig } = signValue(TAGS.letter, letter, keysOf('alice').signSecret);
    expect(hex(signed)).toBe(V2.letter.signed);
    expect(hex(sig)).toBe(V2.letter.sig);
    // What the ratchet encrypts: the canonical {signed, sig}.
    expect(hex(signLetter(letter, keysOf('alice').signSecret))).toBe(V2.letter.signedLetter);
  });

  it('opens and verifies the fixed signed letter', () => {
    const opened = openSignedLetter(bytes(V2.letter.signedLetter));
    if (!opened.ok) throw opened.error;
    const verified = verifyLetter(opened.value, keysOf('alice').signPublic, 'bob', 'alice');
    if (!verified.ok) throw verified.error;
    expect(verified.value).toEqual(letter);
  });

  it('opens the fixed sealed frame', () => {
    const bob = keysOf('bob');
    const sealed = bytes(V2.frame.sealedToBob);
    // Padded (0x80, then zeros) to the smallest size class before sealing.
    expect(sealed.length).toBe(1_024);
    expect(hex(openSeal(sealed, bob.boxPublic, bob.boxSecret)!)).toBe(V2.frame.openedPlaintext);
    const opened = openRatchetLetter(sealed, bob);
    if (!opened.ok) throw opened.error;
    expect(opened.value).toEqual({ ...V2.frame.fields, msg: bytes(V2.frame.fields.msg) });
  });
});
