/** RFC 9497 known answers: ristretto255-SHA512, VOPRF and POPRF, single and batched, byte for byte. */
import { describe, expect, it } from 'vitest';
import {
  blind,
  blindEvaluate,
  deriveOprfKeyPair,
  evaluate,
  evaluator,
  finalize,
  type OprfMode,
  type OprfParams,
} from '../../../common/crypto/index.js';
import { POPRF_VECTORS, VOPRF_VECTORS, type OprfSuiteVectors } from './oprf-vectors.js';

const bytes = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h, 'hex'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

const suites: readonly (readonly [OprfMode, OprfSuiteVectors])[] = [
  ['VOPRF', VOPRF_VECTORS],
  ['POPRF', POPRF_VECTORS],
];

describe.each(suites)('%s ristretto255-SHA512 (RFC 9497 Appendix A.1)', (mode, suite) => {
  const params: OprfParams =
    mode === 'POPRF' ? { mode, info: bytes(suite.info ?? '') } : { mode: 'VOPRF' };

  it('derives skSm and pkSm from Seed and KeyInfo', () => {
    const key = deriveOprfKeyPair(mode, bytes(suite.seed), bytes(suite.keyInfo));
    expect(hex(key.secretKey)).toBe(suite.skSm);
    expect(hex(key.publicKey)).toBe(suite.pkSm);
  });

  it.each(suite.vectors.map((v, i) => [i + 1, v.input.length, v] as const))(
    'test vector %i (batch size %i): blind, evaluate, prove, finalize',
    (_, __, vector) => {
      const key = deriveOprfKeyPair(mode, bytes(suite.seed), bytes(suite.keyInfo));
      const inputs = vector.input.map(bytes);
      const batch = blind(mode, inputs, { dangerousTestOnlyBlinds: vector.blind.map(bytes) });
      expect(batch.blindedElements.map(hex)).toEqual(vector.blindedElement);

      const evaluation = blindEvaluate(params, key, batch.blindedElements, {
        dangerousTestOnlyProofScalar: bytes(vector.proofRandomScalar),
      });
      expect(evaluation.evaluatedElements.map(hex)).toEqual(vector.evaluationElement);
      expect(hex(evaluation.proof)).toBe(vector.proof);

      expect(finalize(params, key.publicKey, batch, evaluation).map(hex)).toEqual(vector.output);
      // What the Operator computes to check a spent token: the same output, without the blind.
      expect(inputs.map((input) => hex(evaluate(params, key.secretKey, input)))).toEqual(
        vector.output,
      );
      // The same, with the key's evaluation computed once (the Operator's per-epoch checker).
      const check = evaluator(params, key.secretKey);
      expect(inputs.map((input) => hex(check(input)))).toEqual(vector.output);
    },
  );

  it('finalizes the published evaluation and proof as received (no server code involved)', () => {
    for (const vector of suite.vectors) {
      const batch = blind(mode, vector.input.map(bytes), {
        dangerousTestOnlyBlinds: vector.blind.map(bytes),
      });
      const outputs = finalize(params, bytes(suite.pkSm), batch, {
        evaluatedElements: vector.evaluationElement.map(bytes),
        proof: bytes(vector.proof),
      });
      expect(outputs.map(hex)).toEqual(vector.output);
    }
  });
});
