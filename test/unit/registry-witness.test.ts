/** A witness cosigns only checkpoints that verify and extend the last one it cosigned. */
import { describe, expect, it } from 'vitest';
import { Witness, type WitnessMemory } from '../../client/transparency/witness.js';
import { generateIdentityKeys } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { noteSigner, noteVerifier, openCheckpoint } from '../../common/transparency/index.js';
import { registryOrigin } from '../../common/wire/index.js';
import { SignedLog, forgeReceipt } from '../support/lying-operator.js';

const operator = generateIdentityKeys();
const witnessKeys = generateIdentityKeys();
const WITNESS = 'witness.komrade.test';
const origin = registryOrigin(operator.signPublic);

const receipts = (n: number, prefix: string) =>
  Array.from({ length: n }, (_, i) => forgeReceipt(operator, `${prefix}${i}`));

const witness = (memory?: WitnessMemory) =>
  new Witness({
    operatorSignKey: operator.signPublic,
    signer: noteSigner(WITNESS, {
      signSecret: witnessKeys.signSecret,
      signPublic: witnessKeys.signPublic,
    }),
    ...(memory === undefined ? {} : { memory }),
  });

const trust = {
  origin,
  log: noteVerifier(origin, operator.signPublic),
  witnesses: [noteVerifier(WITNESS, witnessKeys.signPublic)],
};

const code = (code: string) => (error: unknown) =>
  isKomradeError(error, code as 'LOG_INCONSISTENT');

describe('Witness', () => {
  it('cosigns a consistent sequence, and the cosignature verifies', () => {
    const first = receipts(5, 'a');
    const log = new SignedLog(operator, first);
    const w = witness();
    const one = w.cosign(log.checkpoint());
    const opened = openCheckpoint(one, trust);
    expect(opened.ok && opened.value.witnesses).toEqual([WITNESS]);
    expect(w.size).toBe(5);
    // The same checkpoint again needs no proof.
    expect(w.cosign(log.checkpoint())).toBe(one);
    const grown = new SignedLog(operator, [...first, ...receipts(6, 'b')]);
    const two = w.cosign(grown.checkpoint(), grown.consistency(5, 11));
    const reopened = openCheckpoint(two, trust);
    expect(reopened.ok && reopened.value.checkpoint.size).toBe(11);
    expect(reopened.ok && reopened.value.witnesses).toEqual([WITNESS]);
    expect(w.size).toBe(11);
  });

  it('refuses a fork, an older checkpoint and one without a proof', () => {
    const entries = receipts(6, 'a');
    const log = new SignedLog(operator, entries);
    const w = witness();
    w.cosign(log.checkpoint());
    const forged = [...entries];
    forged[2] = forgeReceipt(operator, 'a2');
    const sameSizeFork = new SignedLog(operator, forged);
    expect(() => w.cosign(sameSizeFork.checkpoint())).toThrow(
      expect.objectContaining({ code: 'LOG_INCONSISTENT' }),
    );
    const largerFork = new SignedLog(operator, [...forged, ...receipts(3, 'c')]);
    expect(() => w.cosign(largerFork.checkpoint(), largerFork.consistency(6, 9))).toThrow(
      expect.objectContaining({ code: 'LOG_INCONSISTENT' }),
    );
    const grown = new SignedLog(operator, [...entries, ...receipts(3, 'c')]);
    expect(() => w.cosign(grown.checkpoint(), [])).toThrow(
      expect.objectContaining({ code: 'LOG_INCONSISTENT' }),
    );
    w.cosign(grown.checkpoint(), grown.consistency(6, 9));
    expect(() => w.cosign(log.checkpoint())).toThrow(
      expect.objectContaining({ code: 'LOG_INCONSISTENT' }),
    );
    // Nothing refused moved it.
    expect(w.size).toBe(9);
  });

  it('refuses a checkpoint the Operator key did not sign', () => {
    const impostor = new SignedLog(generateIdentityKeys(), receipts(2, 'a'));
    let thrown: unknown;
    try {
      witness().cosign(impostor.checkpoint());
    } catch (error) {
      thrown = error;
    }
    expect(code('BAD_SIGNATURE')(thrown)).toBe(true);
  });

  it('remembers across restarts through its memory', () => {
    let saved: string | undefined;
    const memory: WitnessMemory = { load: () => saved, save: (n) => (saved = n) };
    const entries = receipts(4, 'a');
    witness(memory).cosign(new SignedLog(operator, entries).checkpoint());
    const forged = [...entries];
    forged[0] = forgeReceipt(operator, 'a0');
    expect(() => witness(memory).cosign(new SignedLog(operator, forged).checkpoint())).toThrow(
      expect.objectContaining({ code: 'LOG_INCONSISTENT' }),
    );
  });
});
