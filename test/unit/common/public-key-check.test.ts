/** Public-key checks: small-order and malformed keys are refused wherever keys enter (issue #9). */
import sodium from 'libsodium-wrappers-sumo';
import { describe, expect, it } from 'vitest';
import {
  foldLog,
  sealCollectiveBody,
  sealKeyEnvelope,
  type CollectiveMessage,
} from '../../../common/collectives/index.js';
import {
  checkPublicKeys,
  generateIdentityKeys,
  isValidBoxKey,
  isValidSignKey,
  randomBytes,
} from '../../../common/crypto/index.js';
import { toBase64url } from '../../../common/wire/index.js';
import { CollectiveWriter } from '../../support/collective-writer.js';
import { LOW_ORDER_X25519, SMALL_ORDER_ED25519 } from '../../support/small-order-keys.js';
import { expectRejected, expectRule } from '../collectives/expect-rejected.js';

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');
const lowX = LOW_ORDER_X25519.map((key) => [hex(key).slice(0, 12), key] as const);
const smallEd = SMALL_ORDER_ED25519.map((key) => [hex(key).slice(0, 12), key] as const);

describe('isValidBoxKey (X25519)', () => {
  it('accepts freshly generated keys', () => {
    for (let i = 0; i < 20; i++) expect(isValidBoxKey(generateIdentityKeys().boxPublic)).toBe(true);
  });

  it.each(lowX)('refuses the low-order point %s…', (_, key) => {
    expect(isValidBoxKey(key)).toBe(false);
  });

  it.each([0, 31, 33, 64])('refuses a key of %i bytes', (length) => {
    expect(isValidBoxKey(randomBytes(length))).toBe(false);
  });
});

describe('isValidSignKey (Ed25519)', () => {
  it('accepts freshly generated keys', () => {
    for (let i = 0; i < 20; i++)
      expect(isValidSignKey(generateIdentityKeys().signPublic)).toBe(true);
  });

  it.each(smallEd)('refuses the small-order point %s…', (_, key) => {
    expect(isValidSignKey(key)).toBe(false);
  });

  it('refuses a mixed-order point (a real key plus a point of order 8)', () => {
    const [, order8] = smallEd[4]!;
    // On the curve and not of small order, but outside the prime-order subgroup.
    const mixed = sodium.crypto_core_ed25519_add(generateIdentityKeys().signPublic, order8);
    expect(isValidSignKey(mixed)).toBe(false);
  });

  it('refuses a non-canonical encoding and a point off the curve', () => {
    // y = p (2^255 − 19) is a non-canonical encoding of y = 0.
    const nonCanonical = Buffer.from(
      'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
      'hex',
    );
    expect(isValidSignKey(nonCanonical)).toBe(false);
    const offCurve = new Uint8Array(32);
    offCurve[0] = 2; // y = 2 has no x on edwards25519
    expect(isValidSignKey(offCurve)).toBe(false);
  });

  it.each([0, 31, 33, 64])('refuses a key of %i bytes', (length) => {
    expect(isValidSignKey(randomBytes(length))).toBe(false);
  });
});

describe('checkPublicKeys', () => {
  const good = generateIdentityKeys();

  it('passes a generated identity through', () => {
    const checked = checkPublicKeys({ sign: good.signPublic, box: good.boxPublic });
    expect(checked.ok).toBe(true);
  });

  it('answers KEY_INVALID naming which key and whose, never the key itself', () => {
    const [, lowBox] = lowX[2]!;
    const [, smallSign] = smallEd[6]!;
    const badBox = checkPublicKeys({ sign: good.signPublic, box: lowBox }, '@mallory');
    const badSign = checkPublicKeys({ sign: smallSign, box: good.boxPublic });
    if (badBox.ok || badSign.ok) throw new Error('accepted a small-order key');
    expect(badBox.error.code).toBe('KEY_INVALID');
    expect(badBox.error.message).toMatch(/^@mallory's box key .*X25519/);
    expect(badSign.error.code).toBe('KEY_INVALID');
    expect(badSign.error.message).toMatch(/^The signing key .*Ed25519/);
    for (const error of [badBox.error, badSign.error]) {
      expect(error.message).not.toContain(toBase64url(lowBox));
      expect(error.message).not.toContain(toBase64url(smallSign));
      expect(error.message).not.toContain(hex(lowBox));
    }
  });
});

describe('collectives: where a member’s keys enter', () => {
  /** Gives `name` real signing keys but the registered box key `box`. */
  function registerWithBox(w: CollectiveWriter, name: string, box: Uint8Array): void {
    w.registry.keys.set(name, { ...generateIdentityKeys(), boxPublic: box });
    w.registry.holders.set(name, 'self');
  }

  it.each(lowX.slice(0, 3))(
    'refuses a join request by a komrade whose box key is of low order (%s…)',
    (_, box) => {
      const w = new CollectiveWriter();
      w.genesis('portland', ['alice', 'bob']);
      registerWithBox(w, 'mallory', box);
      expectRejected(w, w.sign('join-request', 'mallory', { note: '' }), 'key-invalid');
      // A komrade with sound keys still gets in.
      w.admit('dave', ['alice']);
      expect(w.log.state().members).toContain('dave');
    },
  );

  it('refuses a genesis naming a founder with a low-order box key or a small-order signing key', () => {
    for (const bad of ['box', 'sign'] as const) {
      const w = new CollectiveWriter();
      w.registry.register('alice');
      const keys = generateIdentityKeys();
      w.registry.keys.set('mallory', {
        ...keys,
        ...(bad === 'box' ? { boxPublic: lowX[0]![1] } : { signPublic: smallEd[4]![1] }),
      });
      w.registry.holders.set('mallory', 'self');
      const refused = (() => {
        try {
          w.genesis('portland', ['alice', 'mallory']);
          return 'accepted';
        } catch (error) {
          return (error as { rule?: string }).rule;
        }
      })();
      expect(refused).toBe('key-invalid');
      expect(w.events).toHaveLength(0);
    }
  });

  it('refuses to admit a pending candidate whose registered keys turn out unusable', () => {
    // A registry that learnt the candidate's keys late (e.g. a name registered before keys were
    // checked) must not let them in: nobody could seal the collective's messages to them.
    const w = new CollectiveWriter();
    w.genesis('portland', ['alice', 'bob', 'carol']);
    w.act('join-request', 'dave', { note: '' });
    w.act('vouch', 'alice', { candidate: 'dave' });
    const dave = w.registry.keys.get('dave')!;
    w.registry.keys.set('dave', { ...dave, boxPublic: lowX[3]![1] });
    const admit = w.sign('admit', 'alice', { candidate: 'dave' });
    expectRule(w.log.canAppend(admit), 3, 'key-invalid');
    // Folded from the start with what the registry now says, the log stops at dave's request.
    expectRule(foldLog([...w.events, admit], w.registry), 1, 'key-invalid');
  });

  it('refuses to seal a collective key envelope to a low-order key, naming the member', () => {
    const sender = generateIdentityKeys();
    const message: CollectiveMessage = {
      v: 1,
      collective: 'portland',
      from: 'alice',
      sentAt: 1_700_000_000_000,
      id: randomBytes(16),
      text: 'hello',
    };
    const recipients = [
      { name: 'bob', boxKey: generateIdentityKeys().boxPublic },
      { name: 'mallory', boxKey: lowX[1]![1] },
    ];
    const { contentKey } = sealCollectiveBody(message, sender.signSecret);
    const envelope = { v: 2 as const, from: 'alice', type: 'message' as const, msg: contentKey };
    expect(sealKeyEnvelope(envelope, recipients[0]!).length).toBeGreaterThan(0);
    let thrown: unknown;
    try {
      sealKeyEnvelope(envelope, recipients[1]!);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toMatchObject({ code: 'KEY_INVALID' });
    expect((thrown as Error).message).toContain('@mallory');
  });
});
