/**
 * Native libsodium (sodium-native) and its WebAssembly build behind common/crypto: the same
 * known answers on both, boxes and MACs that cross from one to the other, and the same refusals
 * of bad input. Answers that do not come from libsodium itself (RFC 8032, RFC 7693, HMAC-SHA-512)
 * are checked against node:crypto as a third implementation.
 */
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Module from 'node:module';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  KDF_INTERACTIVE,
  SEAL_OVERHEAD_BYTES,
  aeadDecrypt,
  aeadEncrypt,
  aeadEncryptWithNonce,
  blake2b,
  clientSessionKey,
  cryptoBackendName,
  deriveKeyFromPassphrase,
  generateIdentityKeys,
  identityKeysFromSecrets,
  initCrypto,
  isValidBoxKey,
  isValidSignKey,
  openSeal,
  pad,
  randomBytes,
  seal,
  serverSessionKey,
  sessionKeyPair,
  sessionMac,
  sessionMacVerifies,
  signDetached,
  verifyDetached,
  type CryptoBackendName,
  unpad,
  type IdentityKeys,
} from '../../../common/crypto/index.js';
import type * as sodiumModule from '../../../common/crypto/sodium.js';
import { backend } from '../../../common/crypto/sodium.js';
import { isKomradeError } from '../../../common/errors/index.js';
import { LOW_ORDER_X25519, SMALL_ORDER_ED25519 } from '../../support/small-order-keys.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'));
const utf8 = (s: string) => new TextEncoder().encode(s);
const flip = (b: Uint8Array, at: number) => {
  const out = b.slice();
  out[at] = out[at]! ^ 1;
  return out;
};

const V = JSON.parse(
  readFileSync(new URL('../../vectors/protocol-v1.json', import.meta.url), 'utf8'),
) as {
  keys: Record<string, { signSeed: string; boxSecret: string }>;
  letter: { signed: string; sig: string; sealedToBob: string; openedPlaintext: string };
  aead: { key: string; nonce: string; ad: string; plaintext: string; sealed: string };
  argon2id: { passphrase: string; salt: string; key: string };
};
const keysOf = (who: string) =>
  identityKeysFromSecrets(bytes(V.keys[who]!.signSeed), bytes(V.keys[who]!.boxSecret));

/** RFC 8032 §7.1 tests 1, 2, 3 and SHA(abc): seed, public key, message, signature. */
const RFC8032 = [
  [
    '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60',
    'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    '',
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  ],
  [
    '4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb',
    '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    '72',
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  ],
  [
    'c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7',
    'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    'af82',
    '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  ],
  [
    '833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42',
    'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    createHash('sha512').update('abc').digest('hex'),
    'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  ],
] as const;

/** Ed25519's group order L, little-endian: adding it to S gives a non-canonical signature. */
const L = bytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010');
const plusL = (sig: Uint8Array) => {
  const out = sig.slice();
  let carry = 0;
  for (let i = 0; i < 32; i++) {
    const sum = out[32 + i]! + L[i]! + carry;
    out[32 + i] = sum & 0xff;
    carry = sum >> 8;
  }
  return out;
};

const BACKENDS: CryptoBackendName[] = ['native', 'wasm'];
const other = (name: CryptoBackendName): CryptoBackendName =>
  name === 'native' ? 'wasm' : 'native';
const use = (name: CryptoBackendName) => initCrypto({ backend: name });

afterAll(async () => {
  await initCrypto({ backend: 'auto' });
});

describe('backend selection', () => {
  it('loads native libsodium here, and switches when asked', async () => {
    expect(await initCrypto({ backend: 'auto' })).toBe('native');
    expect(await initCrypto({ backend: 'native' })).toBe('native');
    expect(await initCrypto({ backend: 'wasm' })).toBe('wasm');
    expect(cryptoBackendName()).toBe('wasm');
    // A later call without an option keeps the choice made.
    expect(await initCrypto()).toBe('wasm');
  });
});

describe.each(BACKENDS)('%s libsodium', (name) => {
  beforeAll(async () => {
    expect(await use(name)).toBe(name);
  });

  describe('Ed25519 (crypto_sign_detached)', () => {
    it.each(RFC8032.map((v, i) => [i, ...v] as const))(
      'matches RFC 8032 vector %i',
      (_, seed, publicKey, message, signature) => {
        const keys = identityKeysFromSecrets(bytes(seed), new Uint8Array(32).fill(1));
        expect(hex(keys.signPublic)).toBe(publicKey);
        expect(hex(keys.signSecret)).toBe(seed + publicKey);
        expect(hex(signDetached(bytes(message), keys.signSecret))).toBe(signature);
        expect(verifyDetached(bytes(signature), bytes(message), keys.signPublic)).toBe(true);
      },
    );

    it('verifies the protocol v1 letter signature', () => {
      const alice = keysOf('alice');
      expect(verifyDetached(bytes(V.letter.sig), bytes(V.letter.signed), alice.signPublic)).toBe(
        true,
      );
    });

    it('refuses altered messages, signatures, keys and lengths as false, never a throw', () => {
      const [seed, , message, signature] = RFC8032[2];
      const keys = identityKeysFromSecrets(bytes(seed), new Uint8Array(32).fill(1));
      const sig = bytes(signature);
      const msg = bytes(message);
      expect(verifyDetached(sig, flip(msg, 0), keys.signPublic)).toBe(false);
      expect(verifyDetached(flip(sig, 0), msg, keys.signPublic)).toBe(false);
      expect(verifyDetached(flip(sig, 63), msg, keys.signPublic)).toBe(false);
      expect(verifyDetached(sig, msg, generateIdentityKeys().signPublic)).toBe(false);
      expect(verifyDetached(plusL(sig), msg, keys.signPublic)).toBe(false);
      expect(verifyDetached(sig.subarray(0, 63), msg, keys.signPublic)).toBe(false);
      expect(verifyDetached(new Uint8Array([...sig, 0]), msg, keys.signPublic)).toBe(false);
      expect(verifyDetached(sig, msg, keys.signPublic.subarray(0, 31))).toBe(false);
      expect(verifyDetached(new Uint8Array(0), msg, new Uint8Array(0))).toBe(false);
      for (const small of SMALL_ORDER_ED25519) {
        expect(verifyDetached(sig, msg, small)).toBe(false);
        expect(isValidSignKey(small)).toBe(false);
      }
    });

    it('throws for a secret key of the wrong length', () => {
      expect(() => signDetached(utf8('x'), new Uint8Array(32))).toThrow();
    });

    it('signs in place of a subarray without reading past it', () => {
      const keys = keysOf('alice');
      const framed = new Uint8Array([9, 9, ...utf8('hello'), 9, 9]);
      const view = framed.subarray(2, 7);
      expect(hex(signDetached(view, keys.signSecret))).toBe(
        hex(signDetached(utf8('hello'), keys.signSecret)),
      );
    });
  });

  describe('sealed boxes (crypto_box_seal)', () => {
    it('opens the protocol v1 sealed letter', () => {
      const bob = keysOf('bob');
      const opened = openSeal(bytes(V.letter.sealedToBob), bob.boxPublic, bob.boxSecret);
      expect(hex(opened!)).toBe(V.letter.openedPlaintext);
    });

    it(`round-trips with the other build both ways`, async () => {
      const bob = generateIdentityKeys();
      const plaintext = randomBytes(1_024);
      const sealedHere = seal(plaintext, bob.boxPublic);
      expect(sealedHere.length).toBe(1_024 + SEAL_OVERHEAD_BYTES);
      await use(other(name));
      try {
        expect(openSeal(sealedHere, bob.boxPublic, bob.boxSecret)).toEqual(plaintext);
        const sealedThere = seal(plaintext, bob.boxPublic);
        await use(name);
        expect(openSeal(sealedThere, bob.boxPublic, bob.boxSecret)).toEqual(plaintext);
      } finally {
        await use(name);
      }
    });

    it('seals each time to a fresh ephemeral key', () => {
      const bob = generateIdentityKeys();
      const a = seal(utf8('same'), bob.boxPublic);
      const b = seal(utf8('same'), bob.boxPublic);
      expect(hex(a.subarray(0, 32))).not.toBe(hex(b.subarray(0, 32)));
    });

    it('refuses altered, short, misaddressed and empty boxes as undefined', () => {
      const bob = generateIdentityKeys();
      const eve = generateIdentityKeys();
      const sealed = seal(utf8('meet at seven'), bob.boxPublic);
      for (const at of [0, 31, 32, 47, sealed.length - 1]) {
        expect(openSeal(flip(sealed, at), bob.boxPublic, bob.boxSecret)).toBeUndefined();
      }
      expect(openSeal(sealed.subarray(0, 47), bob.boxPublic, bob.boxSecret)).toBeUndefined();
      expect(openSeal(new Uint8Array(0), bob.boxPublic, bob.boxSecret)).toBeUndefined();
      expect(openSeal(sealed, eve.boxPublic, eve.boxSecret)).toBeUndefined();
      expect(openSeal(sealed, bob.boxPublic.subarray(0, 31), bob.boxSecret)).toBeUndefined();
      expect(openSeal(sealed, bob.boxPublic, bob.boxSecret.subarray(0, 31))).toBeUndefined();
      // An empty plaintext seals to the bare overhead and opens to nothing.
      const empty = seal(new Uint8Array(0), bob.boxPublic);
      expect(empty.length).toBe(SEAL_OVERHEAD_BYTES);
      expect(openSeal(empty, bob.boxPublic, bob.boxSecret)).toEqual(new Uint8Array(0));
    });

    it('throws rather than seal to a low-order or mis-sized key', () => {
      for (const low of LOW_ORDER_X25519) {
        expect(() => seal(utf8('x'), low)).toThrow();
        expect(isValidBoxKey(low)).toBe(false);
      }
      expect(() => seal(utf8('x'), new Uint8Array(31))).toThrow();
    });
  });

  describe('keys', () => {
    it('derives the protocol v1 identities', () => {
      const alice = keysOf('alice');
      expect(isValidSignKey(alice.signPublic)).toBe(true);
      expect(isValidBoxKey(alice.boxPublic)).toBe(true);
    });

    it('makes keys the other build signs and opens with', async () => {
      const keys: IdentityKeys = generateIdentityKeys();
      const sig = signDetached(utf8('hi'), keys.signSecret);
      const sealed = seal(utf8('hi'), keys.boxPublic);
      await use(other(name));
      try {
        expect(verifyDetached(sig, utf8('hi'), keys.signPublic)).toBe(true);
        expect(openSeal(sealed, keys.boxPublic, keys.boxSecret)).toEqual(utf8('hi'));
        const rebuilt = identityKeysFromSecrets(keys.signSecret.slice(0, 32), keys.boxSecret);
        expect(rebuilt).toEqual(keys);
      } finally {
        await use(name);
      }
    });
  });

  describe('BLAKE2b (crypto_generichash)', () => {
    it('matches RFC 7693 and node:crypto', () => {
      expect(hex(blake2b(utf8('abc'), 64))).toBe(
        'ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923',
      );
      expect(hex(blake2b(new Uint8Array(0), 32))).toBe(
        '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8',
      );
      const data = randomBytes(3_000);
      expect(hex(blake2b(data, 64))).toBe(createHash('blake2b512').update(data).digest('hex'));
      expect(hex(blake2b(data.subarray(7, 2_007), 64))).toBe(
        createHash('blake2b512').update(data.subarray(7, 2_007)).digest('hex'),
      );
    });

    it('throws for an output length outside 16–64', () => {
      expect(blake2b(utf8('x'), 16).length).toBe(16);
      expect(() => blake2b(utf8('x'), 15)).toThrow();
      expect(() => blake2b(utf8('x'), 65)).toThrow();
    });
  });

  describe('session keys (crypto_kx) and MACs (crypto_auth)', () => {
    it('HMAC-SHA-512-256 matches node:crypto', () => {
      const key = randomBytes(32);
      const message = randomBytes(500);
      const expected = createHmac('sha512', key).update(message).digest().subarray(0, 32);
      expect(hex(sessionMac(key, message))).toBe(hex(expected));
      expect(sessionMacVerifies(key, expected, message)).toBe(true);
    });

    it('refuses altered MACs, messages and wrong lengths as false', () => {
      const key = randomBytes(32);
      const mac = sessionMac(key, utf8('GET /mail 7'));
      expect(sessionMacVerifies(key, flip(mac, 31), utf8('GET /mail 7'))).toBe(false);
      expect(sessionMacVerifies(key, mac, utf8('GET /mail 8'))).toBe(false);
      expect(sessionMacVerifies(randomBytes(32), mac, utf8('GET /mail 7'))).toBe(false);
      expect(sessionMacVerifies(key, mac.subarray(0, 31), utf8('GET /mail 7'))).toBe(false);
      expect(sessionMacVerifies(key.subarray(0, 16), mac, utf8('GET /mail 7'))).toBe(false);
      expect(() => sessionMac(key.subarray(0, 16), utf8('x'))).toThrow();
    });

    it('derives the same key on both sides, across builds, as BLAKE2b-512(q ‖ pk_c ‖ pk_s)', async () => {
      const client = sessionKeyPair();
      const server = sessionKeyPair();
      const clientKey = clientSessionKey(client, server.publicKey);
      await use(other(name));
      let serverKey: Uint8Array;
      try {
        serverKey = serverSessionKey(server, client.publicKey);
      } finally {
        await use(name);
      }
      expect(hex(serverKey)).toBe(hex(clientKey));
      // libsodium's crypto_kx: rx ‖ tx = BLAKE2b-512(q ‖ client_pk ‖ server_pk) on the client.
      const q = backend().scalarmult(client.secretKey, server.publicKey);
      const digest = createHash('blake2b512')
        .update(q)
        .update(client.publicKey)
        .update(server.publicKey)
        .digest();
      expect(hex(clientKey)).toBe(hex(digest.subarray(32)));
    });

    it('throws for a low-order or mis-sized peer key', () => {
      const client = sessionKeyPair();
      for (const low of LOW_ORDER_X25519) {
        expect(() => clientSessionKey(client, low)).toThrow();
        expect(() => serverSessionKey(client, low)).toThrow();
      }
      // A mis-sized key from the wire throws too (the Operator answers KEY_INVALID).
      expect(() => serverSessionKey(client, new Uint8Array(31))).toThrow();
      expect(() => serverSessionKey(client, new Uint8Array(33))).toThrow();
    });
  });

  describe('AEAD (XChaCha20-Poly1305) and Argon2id', () => {
    it('encrypts the protocol v1 vector, opens it on the other build, refuses tampering', async () => {
      const a = V.aead;
      const sealed = aeadEncryptWithNonce(
        utf8(a.plaintext),
        bytes(a.key),
        utf8(a.ad),
        bytes(a.nonce),
      );
      expect(hex(sealed)).toBe(a.sealed);
      const fresh = aeadEncrypt(utf8(a.plaintext), bytes(a.key), utf8(a.ad));
      await use(other(name));
      try {
        expect(new TextDecoder().decode(aeadDecrypt(fresh, bytes(a.key), utf8(a.ad)))).toBe(
          a.plaintext,
        );
      } finally {
        await use(name);
      }
      expect(aeadDecrypt(flip(sealed, 30), bytes(a.key), utf8(a.ad))).toBeUndefined();
      expect(aeadDecrypt(flip(sealed, 0), bytes(a.key), utf8(a.ad))).toBeUndefined();
      expect(aeadDecrypt(sealed, bytes(a.key), utf8('other'))).toBeUndefined();
      expect(aeadDecrypt(sealed, randomBytes(32), utf8(a.ad))).toBeUndefined();
      expect(aeadDecrypt(sealed, randomBytes(16), utf8(a.ad))).toBeUndefined();
      expect(aeadDecrypt(sealed.subarray(0, 39), bytes(a.key), utf8(a.ad))).toBeUndefined();
      // The bare nonce and tag: an empty plaintext.
      const empty = aeadEncrypt(new Uint8Array(0), bytes(a.key), utf8(a.ad));
      expect(aeadDecrypt(empty, bytes(a.key), utf8(a.ad))).toEqual(new Uint8Array(0));
      expect(() => aeadEncrypt(utf8('x'), randomBytes(31), utf8(a.ad))).toThrow();
    });

    it('derives the protocol v1 Argon2id key', () => {
      const k = V.argon2id;
      expect(hex(deriveKeyFromPassphrase(k.passphrase, bytes(k.salt), KDF_INTERACTIVE))).toBe(
        k.key,
      );
      expect(() => deriveKeyFromPassphrase('x', randomBytes(15), KDF_INTERACTIVE)).toThrow();
    });
  });

  describe('padding (sodium_pad, ISO/IEC 7816-4)', () => {
    it('pads to the same bytes as the other build, and unpads either', async () => {
      const cases = [0, 1, 15, 16, 17, 175, 176, 1_000, 65_535].map((n) => randomBytes(n));
      const here = cases.map((c) => pad(c, 16));
      await use(other(name));
      try {
        const there = cases.map((c) => pad(c, 16));
        expect(there.map(hex)).toEqual(here.map(hex));
      } finally {
        await use(name);
      }
      for (const [i, padded] of here.entries()) {
        expect(padded.length % 16).toBe(0);
        expect(padded.length).toBeGreaterThan(cases[i]!.length);
        expect(unpad(padded, 16)).toEqual(cases[i]);
      }
      expect(hex(pad(utf8('abc'), 8))).toBe('6162638000000000');
      expect(hex(pad(utf8('abcdefgh'), 8))).toBe('61626364656667688000000000000000');
      expect(pad(new Uint8Array(0), 1)).toEqual(new Uint8Array([0x80]));
      // A subarray pads only its own bytes.
      expect(hex(pad(utf8('xabcx').subarray(1, 4), 4))).toBe('61626380');
    });

    it('refuses malformed padding and bad block sizes the same way', () => {
      expect(unpad(new Uint8Array(16), 16)).toBeUndefined();
      expect(unpad(new Uint8Array([...new Uint8Array(15), 0x81]), 16)).toBeUndefined();
      expect(unpad(new Uint8Array([0x80, 1, ...new Uint8Array(14)]), 16)).toBeUndefined();
      expect(unpad(new Uint8Array(15), 16)).toBeUndefined();
      expect(unpad(new Uint8Array(0), 16)).toBeUndefined();
      expect(() => pad(utf8('x'), 0)).toThrow(RangeError);
      expect(() => pad(utf8('x'), 1.5)).toThrow(RangeError);
    });
  });

  it('hands callers plain Uint8Arrays, never Buffers', () => {
    const keys = generateIdentityKeys();
    const outputs = [
      keys.signPublic,
      keys.signSecret,
      keys.boxPublic,
      keys.boxSecret,
      signDetached(utf8('x'), keys.signSecret),
      seal(utf8('x'), keys.boxPublic),
      openSeal(seal(utf8('x'), keys.boxPublic), keys.boxPublic, keys.boxSecret)!,
      blake2b(utf8('x')),
      sessionMac(randomBytes(32), utf8('x')),
      clientSessionKey(sessionKeyPair(), sessionKeyPair().publicKey),
      aeadEncrypt(utf8('x'), randomBytes(32), utf8('ad')),
      pad(utf8('x'), 16),
      unpad(pad(utf8('x'), 16), 16)!,
    ];
    for (const out of outputs) expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
  });
});

describe('randomBytes', () => {
  it('gives each caller its own bytes, short ids from the pool and keys straight from the CSPRNG', () => {
    const ids = new Set<string>();
    for (let i = 0; i < 5_000; i++) {
      const id = randomBytes(16);
      expect(id.length).toBe(16);
      // A copy in a buffer of its own: nothing else is reachable through `id.buffer`.
      expect(id.buffer.byteLength).toBe(16);
      ids.add(hex(id));
    }
    expect(ids.size).toBe(5_000);
    for (const length of [0, 1, 24, 31, 32, 64, 5_000]) {
      const out = randomBytes(length);
      expect(out.length).toBe(length);
      expect(out.buffer.byteLength).toBe(length);
      expect(Object.getPrototypeOf(out)).toBe(Uint8Array.prototype);
    }
  });

  it('is not all zeros, even right after the pool is refilled', () => {
    // 4,096 / 24 is not whole: some draws straddle a refill.
    for (let i = 0; i < 400; i++) expect(randomBytes(24).some((b) => b !== 0)).toBe(true);
  });

  it('throws for a negative or fractional length', () => {
    expect(() => randomBytes(-1)).toThrow(RangeError);
    expect(() => randomBytes(1.5)).toThrow(RangeError);
  });
});

describe('KOMRADE_CRYPTO and the fallback', () => {
  /** A fresh copy of common/crypto/sodium.ts, as a new process would load it. */
  const freshSodium = async (): Promise<typeof sodiumModule> => {
    vi.resetModules();
    return import('../../../common/crypto/sodium.js');
  };
  const moduleLoader = Module as unknown as {
    _load: (request: string, ...rest: unknown[]) => unknown;
  };
  const realLoad = moduleLoader._load;
  const saved = process.env['KOMRADE_CRYPTO'];

  afterEach(() => {
    moduleLoader._load = realLoad;
    if (saved === undefined) delete process.env['KOMRADE_CRYPTO'];
    else process.env['KOMRADE_CRYPTO'] = saved;
  });

  it('reads auto, native and wasm, and refuses anything else with CONFIG_INVALID', async () => {
    for (const [value, expected] of [
      ['', 'native'],
      ['auto', 'native'],
      ['native', 'native'],
      ['wasm', 'wasm'],
    ] as const) {
      process.env['KOMRADE_CRYPTO'] = value;
      const fresh = await freshSodium();
      expect(await fresh.initCrypto()).toBe(expected);
      expect(fresh.backend().name).toBe(expected);
    }
    process.env['KOMRADE_CRYPTO'] = 'fast';
    const fresh = await freshSodium();
    await expect(fresh.initCrypto()).rejects.toSatisfy((e: unknown) =>
      isKomradeError(e, 'CONFIG_INVALID'),
    );
    expect(() => fresh.backend()).toThrow(/before initCrypto/);
  });

  it('falls back to WebAssembly when sodium-native does not load, unless native is required', async () => {
    moduleLoader._load = function load(this: unknown, request: string, ...rest: unknown[]) {
      if (request === 'sodium-native') throw new Error('no prebuilt binary for this platform');
      return realLoad.call(this, request, ...rest);
    };
    delete process.env['KOMRADE_CRYPTO'];
    const fallback = await freshSodium();
    expect(await fallback.initCrypto()).toBe('wasm');
    const keys = generateIdentityKeys();
    const sig = fallback.backend().signDetached(utf8('x'), keys.signSecret);
    expect(verifyDetached(sig, utf8('x'), keys.signPublic)).toBe(true);

    process.env['KOMRADE_CRYPTO'] = 'native';
    const required = await freshSodium();
    await expect(required.initCrypto()).rejects.toSatisfy((e: unknown) =>
      isKomradeError(e, 'CONFIG_INVALID'),
    );
  });
});
