/**
 * RFC 9497 OPRF under attack: an Operator that evaluates with another key, alters or reorders
 * elements, or answers for another epoch is caught by the client; malformed elements, scalars and
 * keys are refused wherever they enter.
 */
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import {
  blind,
  blindEvaluate,
  checkOprfPublicKey,
  checkOprfSecretKey,
  evaluate,
  finalize,
  generateOprfKeyPair,
  randomBytes,
  type OprfEvaluation,
  type OprfMode,
  type OprfParams,
} from '../../../common/crypto/index.js';
import { isKomradeError, type ErrorCode } from '../../../common/errors/index.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const epoch = (n: number): Uint8Array => new TextEncoder().encode(`epoch-${n}`);

function codeOf(run: () => unknown): ErrorCode | 'no error' | 'not a KomradeError' {
  try {
    run();
    return 'no error';
  } catch (error) {
    return isKomradeError(error) ? error.code : 'not a KomradeError';
  }
}

const ORDER = 2n ** 252n + 27742317777372353535851937790883648493n;
const toLe32 = (n: bigint): Uint8Array => {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
};
const fromLe = (b: Uint8Array): bigint =>
  b.reduceRight((acc, byte) => (acc << 8n) | BigInt(byte), 0n);

/** Encodings no honest party produces: identity, ≥ p, negative, high bit set, wrong length. */
const BAD_ELEMENTS: readonly (readonly [string, Uint8Array])[] = [
  ['the identity', new Uint8Array(32)],
  ['p itself (non-canonical)', bytes('ed' + 'ff'.repeat(30) + '7f')],
  ['a negative field element', bytes('01' + '00'.repeat(31))],
  [
    'a valid point with the top bit set',
    (() => {
      const p = sodium.crypto_core_ristretto255_random();
      p[31] = (p[31] ?? 0) | 0x80;
      return p;
    })(),
  ],
  ['31 bytes', sodium.crypto_core_ristretto255_random().subarray(0, 31)],
];

const modes: readonly OprfMode[] = ['VOPRF', 'POPRF'];
const paramsFor = (mode: OprfMode, n = 1): OprfParams =>
  mode === 'POPRF' ? { mode, info: epoch(n) } : { mode };

describe.each(modes)('%s: the client refuses a dishonest Operator', (mode) => {
  const params = paramsFor(mode);
  const operator = generateOprfKeyPair();
  const inputs = [randomBytes(32), randomBytes(32), randomBytes(32)];

  it('accepts an honest batch, with fresh blinds each time but the same outputs', () => {
    const first = blind(mode, inputs);
    const second = blind(mode, inputs);
    expect(first.blindedElements.map(hex)).not.toEqual(second.blindedElements.map(hex));
    const a = finalize(
      params,
      operator.publicKey,
      first,
      blindEvaluate(params, operator, first.blindedElements),
    );
    const b = finalize(
      params,
      operator.publicKey,
      second,
      blindEvaluate(params, operator, second.blindedElements),
    );
    expect(a.map(hex)).toEqual(b.map(hex));
    expect(a.map(hex)).toEqual(inputs.map((i) => hex(evaluate(params, operator.secretKey, i))));
  });

  it('refuses a batch evaluated, and proved, under another key than the pinned one', () => {
    const batch = blind(mode, inputs);
    const other = generateOprfKeyPair();
    const answer = blindEvaluate(params, other, batch.blindedElements);
    expect(codeOf(() => finalize(params, operator.publicKey, batch, answer))).toBe(
      'TOKEN_PROOF_INVALID',
    );
  });

  it('refuses a batch where one element was evaluated under a tagging key', () => {
    const batch = blind(mode, inputs);
    const honest = blindEvaluate(params, operator, batch.blindedElements);
    const tag = blindEvaluate(params, generateOprfKeyPair(), [
      batch.blindedElements[1] as Uint8Array,
    ]);
    const tagged: OprfEvaluation = {
      evaluatedElements: honest.evaluatedElements.map((e, i) =>
        i === 1 ? (tag.evaluatedElements[0] as Uint8Array) : e,
      ),
      proof: honest.proof,
    };
    expect(codeOf(() => finalize(params, operator.publicKey, batch, tagged))).toBe(
      'TOKEN_PROOF_INVALID',
    );
  });

  it('refuses a modified, reordered, missing or extra evaluated element', () => {
    const batch = blind(mode, inputs);
    const honest = blindEvaluate(params, operator, batch.blindedElements);
    const [e0, e1, e2] = honest.evaluatedElements as [Uint8Array, Uint8Array, Uint8Array];
    const doubled = sodium.crypto_core_ristretto255_add(e0, e0);
    for (const evaluatedElements of [
      [doubled, e1, e2],
      [e1, e0, e2],
      [e0, e1],
      [e0, e1, e2, e2],
    ]) {
      const answer = { evaluatedElements, proof: honest.proof };
      expect(codeOf(() => finalize(params, operator.publicKey, batch, answer))).toBe(
        'TOKEN_PROOF_INVALID',
      );
    }
  });

  it('refuses an altered, truncated or non-canonical proof', () => {
    const batch = blind(mode, inputs);
    const honest = blindEvaluate(params, operator, batch.blindedElements);
    const flipped = honest.proof.slice();
    flipped[40] = (flipped[40] ?? 0) ^ 1;
    // c + ℓ: the same scalar mod ℓ, but not its canonical encoding.
    const c = fromLe(honest.proof.subarray(0, 32));
    const nonCanonical = new Uint8Array([...toLe32(c + ORDER), ...honest.proof.subarray(32)]);
    for (const proof of [flipped, honest.proof.subarray(0, 63), nonCanonical, new Uint8Array(64)]) {
      const answer = { evaluatedElements: honest.evaluatedElements, proof };
      expect(codeOf(() => finalize(params, operator.publicKey, batch, answer))).toBe(
        'TOKEN_PROOF_INVALID',
      );
    }
  });

  it.each(BAD_ELEMENTS)('refuses %s as an evaluated element', (_, bad) => {
    const batch = blind(mode, [inputs[0] as Uint8Array]);
    const honest = blindEvaluate(params, operator, batch.blindedElements);
    const answer = { evaluatedElements: [bad], proof: honest.proof };
    expect(codeOf(() => finalize(params, operator.publicKey, batch, answer))).toBe(
      'TOKEN_PROOF_INVALID',
    );
  });
});

describe.each(modes)('%s: the Operator refuses malformed input', (mode) => {
  const params = paramsFor(mode);
  const operator = generateOprfKeyPair();

  it.each(BAD_ELEMENTS)('refuses %s as a blinded element', (_, bad) => {
    const good = blind(mode, [randomBytes(32)]).blindedElements[0] as Uint8Array;
    expect(codeOf(() => blindEvaluate(params, operator, [good, bad]))).toBe('BAD_REQUEST');
  });

  it('refuses an empty batch', () => {
    expect(codeOf(() => blindEvaluate(params, operator, []))).toBe('BAD_REQUEST');
  });
});

describe('keys', () => {
  it.each(BAD_ELEMENTS)('refuses %s as a public key', (_, bad) => {
    expect(codeOf(() => checkOprfPublicKey(bad))).toBe('KEY_INVALID');
    const batch = blind('VOPRF', [randomBytes(8)]);
    const answer = blindEvaluate({ mode: 'VOPRF' }, generateOprfKeyPair(), batch.blindedElements);
    expect(codeOf(() => finalize({ mode: 'VOPRF' }, bad, batch, answer))).toBe('KEY_INVALID');
  });

  it('refuses a zero, non-canonical or short secret key', () => {
    const key = generateOprfKeyPair();
    const nonCanonical = toLe32(fromLe(key.secretKey) + ORDER);
    for (const secretKey of [new Uint8Array(32), nonCanonical, key.secretKey.subarray(1)]) {
      expect(codeOf(() => checkOprfSecretKey(secretKey))).toBe('KEY_INVALID');
      expect(codeOf(() => evaluate({ mode: 'VOPRF' }, secretKey, randomBytes(8)))).toBe(
        'KEY_INVALID',
      );
    }
  });
});

describe('POPRF: the epoch is bound into the output and the proof', () => {
  const operator = generateOprfKeyPair();
  const input = randomBytes(32);

  it('gives another output for another info, and for VOPRF', () => {
    const outputs = [
      evaluate(paramsFor('POPRF', 1), operator.secretKey, input),
      evaluate(paramsFor('POPRF', 2), operator.secretKey, input),
      evaluate({ mode: 'VOPRF' }, operator.secretKey, input),
    ].map(hex);
    expect(new Set(outputs).size).toBe(3);
  });

  it('refuses an answer made for another epoch than the client asked for', () => {
    const batch = blind('POPRF', [input]);
    const answer = blindEvaluate(paramsFor('POPRF', 2), operator, batch.blindedElements);
    expect(codeOf(() => finalize(paramsFor('POPRF', 1), operator.publicKey, batch, answer))).toBe(
      'TOKEN_PROOF_INVALID',
    );
    // The same answer is good for the epoch it was made for.
    expect(
      hex(finalize(paramsFor('POPRF', 2), operator.publicKey, batch, answer)[0] as Uint8Array),
    ).toBe(hex(evaluate(paramsFor('POPRF', 2), operator.secretKey, input)));
  });

  it('a token issued in one mode is no token in the other', () => {
    const batch = blind('VOPRF', [input]);
    const answer = blindEvaluate({ mode: 'VOPRF' }, operator, batch.blindedElements);
    const output = finalize({ mode: 'VOPRF' }, operator.publicKey, batch, answer)[0] as Uint8Array;
    expect(hex(output)).not.toBe(hex(evaluate(paramsFor('POPRF', 1), operator.secretKey, input)));
  });
});

describe('test seams', () => {
  it('refuses fixed blinds that do not fit the inputs', () => {
    const inputs = [randomBytes(8), randomBytes(8)];
    const one = sodium.crypto_core_ristretto255_scalar_random();
    expect(() => blind('VOPRF', inputs, { dangerousTestOnlyBlinds: [one] })).toThrow();
    expect(() =>
      blind('VOPRF', inputs, { dangerousTestOnlyBlinds: [one, new Uint8Array(32)] }),
    ).toThrow();
  });
});
