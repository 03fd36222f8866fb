/**
 * Anonymous tokens on the client: the wallet refills in blinded batches checked against the pinned
 * token key, refuses an Operator that evaluates with another key or a bad proof, passes on an
 * exhausted allowance, forgets old epochs, and pays each letter with one token (the same one on a
 * retry of the same letter).
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TOKEN_LOW_WATER, TOKEN_REFILL_BATCH } from '../../client/index.js';
import {
  blindEvaluate,
  generateOprfKeyPair,
  randomBytes,
  type OprfKeyPair,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { TOKEN_EPOCH_MS, tokenEpochInfo } from '../../common/wire/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { withOverrides } from '../support/operator-client-overrides.js';

const world = useClientWorld('komrade-tokens-');

const codeOf = async (promise: Promise<unknown>) =>
  promise.then(
    () => 'resolved',
    (e: unknown) => (e as { code?: string }).code,
  );

const errorOf = async (promise: Promise<unknown>): Promise<KomradeError> =>
  promise.then(
    () => {
      throw new Error('expected a refusal');
    },
    (e: unknown) => e as KomradeError,
  );

/** Registered ann and bob, and issue calls counted per requested batch size. */
async function annAndBob(): Promise<{ ann: TestKomrade; bob: TestKomrade; batches: number[] }> {
  const batches: number[] = [];
  const counting = withOverrides(world.operator, {
    issueTokens: (signer, blinded, epoch) => {
      batches.push(blinded.length);
      return world.operator.issueTokens(signer, blinded, epoch);
    },
  });
  const ann = await world.registered('ann', { operator: counting });
  const bob = await world.registered('bob');
  return { ann, bob, batches };
}

/** `ann`'s client on the same store and keys, over `operator`. */
function annOver(ann: TestKomrade, operator: Parameters<typeof withOverrides>[0]) {
  return world.client(ann.store, ann.keys, { operator });
}

/** An Operator that evaluates every batch under `key` (while announcing its real token key). */
function evaluatingWith(key: OprfKeyPair) {
  return withOverrides(world.operator, {
    issueTokens: (_signer, blinded, epoch) => {
      const { evaluatedElements, proof } = blindEvaluate(
        { mode: 'POPRF', info: tokenEpochInfo(epoch) },
        key,
        blinded,
      );
      return Promise.resolve({ epoch, evaluated: [...evaluatedElements], proof, left: 10 });
    },
  });
}

describe('the token wallet', () => {
  it('refills in one batch, pins the token key, and pays each letter with one token', async () => {
    const { ann, bob, batches } = await annAndBob();
    expect(ann.store.pinnedTokenKey()).toBeUndefined();
    await ann.client.send('bob', 'one');
    expect(batches).toEqual([TOKEN_REFILL_BATCH]);
    expect(ann.store.pinnedTokenKey()).toEqual(world.operator.tokenKeys.publicKey);
    // The first letter to bob costs two: his prekey bundle (to start the session), the letter.
    expect(ann.client.tokensHeld()).toBe(TOKEN_REFILL_BATCH - 2);
    await ann.client.send('bob', 'two');
    await ann.client.follow('bob');
    expect(batches).toEqual([TOKEN_REFILL_BATCH]);
    expect(ann.client.tokensHeld()).toBe(TOKEN_REFILL_BATCH - 4);
    // Each went alone, with a token of its own; nothing in the send names ann.
    const sends = world.operator.anonymousSends;
    expect(sends).toHaveLength(3);
    expect(new Set(sends.map((s) => Buffer.from(s.token.input).toString('hex'))).size).toBe(3);
    expect(sends.every((s) => s.to === 'bob')).toBe(true);
    expect(Object.keys(sends[0]!).sort()).toEqual(['sealed', 'to', 'token']);
    expect((await bob.client.checkInbox()).requested).toBe(2);
  });

  it('tops up ahead of time when checking the inbox, not before a send', async () => {
    const { ann, bob, batches } = await annAndBob();
    // First check: no tokens yet, so a batch comes with the fetch.
    await ann.client.checkInbox();
    expect(batches).toEqual([TOKEN_REFILL_BATCH]);
    // Enough left: checking again asks for nothing.
    await ann.client.checkInbox();
    expect(batches).toHaveLength(1);
    // Spend down to just under the low-water mark (bob's prekey bundle took one more): sends
    // take none, the next check refills.
    for (let i = 0; i < TOKEN_REFILL_BATCH - TOKEN_LOW_WATER; i++) {
      await ann.client.send('bob', `n${i}`);
    }
    expect(batches).toHaveLength(1);
    await ann.client.checkInbox();
    expect(batches).toHaveLength(2);
    expect(ann.client.tokensHeld()).toBe(TOKEN_LOW_WATER - 1 + TOKEN_REFILL_BATCH);
    expect((await bob.client.checkInbox()).requested).toBe(TOKEN_REFILL_BATCH - TOKEN_LOW_WATER);
  });

  it('refuses tokens evaluated under another key for this komrade, and keeps none', async () => {
    const { ann } = await annAndBob();
    const tagging = annOver(ann, evaluatingWith(generateOprfKeyPair()));
    const error = await errorOf(tagging.send('bob', 'marked?'));
    expect(error.code).toBe('TOKEN_PROOF_INVALID');
    expect(ann.client.tokensHeld()).toBe(0);
    expect(world.operator.anonymousSends).toEqual([]);
    expect(world.operator.mailboxes.get('bob') ?? []).toEqual([]);
  });

  it('refuses a proof that was tampered with, and keeps none', async () => {
    const { ann } = await annAndBob();
    const tampered = withOverrides(world.operator, {
      issueTokens: async (...args) => {
        const answer = await world.operator.issueTokens(...args);
        const proof = Uint8Array.from(answer.proof);
        proof[5]! ^= 0x01;
        return { ...answer, proof };
      },
    });
    expect(await codeOf(annOver(ann, tampered).send('bob', 'x'))).toBe('TOKEN_PROOF_INVALID');
    // An answer of another epoch, or missing an element, is refused the same way.
    const shifted = withOverrides(world.operator, {
      issueTokens: async (...args) => ({
        ...(await world.operator.issueTokens(...args)),
        epoch: args[2] - 1,
      }),
    });
    expect(await codeOf(annOver(ann, shifted).send('bob', 'x'))).toBe('TOKEN_PROOF_INVALID');
    const short = withOverrides(world.operator, {
      issueTokens: async (...args) => {
        const answer = await world.operator.issueTokens(...args);
        return { ...answer, evaluated: answer.evaluated.slice(1) };
      },
    });
    expect(await codeOf(annOver(ann, short).send('bob', 'x'))).toBe('TOKEN_PROOF_INVALID');
    expect(ann.client.tokensHeld()).toBe(0);
    expect(world.operator.anonymousSends).toEqual([]);
  });

  it('refuses a token key other than the pinned one, even with a valid proof under it', async () => {
    const { ann } = await annAndBob();
    await ann.client.send('bob', 'pinned now');
    const held = ann.client.tokensHeld();
    // The Operator now announces and uses another key (for everyone, or just for ann).
    world.operator.tokenKeys = generateOprfKeyPair();
    const fresh = world.client(ann.store, ann.keys);
    // Nothing is spent or asked for under it; the tokens held stay (the key may come back).
    const error = await errorOf(fresh.send('bob', 'after the change'));
    expect(error.code).toBe('TOKEN_PROOF_INVALID');
    expect(error.message).toContain('pinned');
    expect(ann.store.pinnedTokenKey()).not.toEqual(world.operator.tokenKeys.publicKey);
    expect(fresh.tokensHeld()).toBe(held);
    expect(world.operator.anonymousSends).toHaveLength(1);
  });

  it("passes on the Operator's message when the day's allowance is spent", async () => {
    world.operator.tokensPerDay = 3;
    const { ann, batches } = await annAndBob();
    // Three tokens: bob's prekey bundle, then two letters.
    for (const text of ['a', 'b']) await ann.client.send('bob', text);
    expect(batches).toEqual([3]);
    const error = await errorOf(ann.client.send('bob', 'c'));
    expect(error.code).toBe('TOKENS_EXHAUSTED');
    expect(error.message).toMatch(/00:00 UTC, in \d+ h/);
    // The Operator said 0 were left: one token is asked for, to hear the Operator say when.
    expect(batches).toEqual([3, 1]);
  });

  it('asks for a single token when a batch is refused whole and nothing was known of what is left', async () => {
    world.operator.tokensPerDay = 60;
    const { ann, batches } = await annAndBob();
    // Another device of ann's (same keys, its own store) took 50 of today's 60.
    const device = world.komrade('ann-device', { keys: ann.keys });
    await device.client.register('ann');
    await device.client.send('bob', 'from the other device');
    // This store knows nothing of that: its batch of 50 is refused whole, then one is asked for
    // (it pays for bob's prekey bundle); from then on it asks for what the Operator said is left.
    await ann.client.send('bob', 'from here');
    expect(batches).toEqual([50, 1, 9]);
    expect(ann.client.tokensHeld()).toBe(8);
    await ann.client.send('bob', 'again');
    expect(batches).toEqual([50, 1, 9]);
  });

  it('forgets tokens of epochs no longer accepted, and refills for the current one', async () => {
    const { ann, batches } = await annAndBob();
    await ann.client.send('bob', 'today');
    // One for bob's prekey bundle, one for the letter.
    expect(ann.client.tokensHeld()).toBe(TOKEN_REFILL_BATCH - 2);
    // Tomorrow they are still good (the previous epoch is accepted).
    world.clock += TOKEN_EPOCH_MS;
    expect(ann.client.tokensHeld()).toBe(TOKEN_REFILL_BATCH - 2);
    await ann.client.send('bob', 'tomorrow');
    expect(batches).toHaveLength(1);
    // The day after, they are gone from the store.
    world.clock += TOKEN_EPOCH_MS;
    expect(ann.client.tokensHeld()).toBe(0);
    const rows = new Database(join(world.dir, 'ann.db'), { readonly: true });
    expect(rows.prepare('SELECT count(*) AS n FROM tokens').get()).toEqual({ n: 0 });
    rows.close();
    await ann.client.send('bob', 'later');
    expect(batches).toHaveLength(2);
  });

  it('keeps tokens encrypted at rest', async () => {
    const { ann } = await annAndBob();
    await ann.client.send('bob', 'hello');
    const spent = world.operator.anonymousSends[0]!.token;
    const db = new Database(join(world.dir, 'ann.db'), { readonly: true });
    const rows = db.prepare('SELECT epoch, sealed, reserved_for FROM tokens').all() as {
      epoch: number;
      sealed: Uint8Array;
    }[];
    db.close();
    // One went on bob's prekey bundle, one on the letter.
    expect(rows).toHaveLength(TOKEN_REFILL_BATCH - 2);
    // The stored bytes hold neither an input nor an output in the clear.
    const file = Buffer.concat(rows.map((r) => Buffer.from(r.sealed)));
    const held = ann.store.reserveToken(randomBytes(32), [spent.epoch])!;
    expect(file.includes(Buffer.from(held.token.input))).toBe(false);
    expect(file.includes(Buffer.from(held.token.output))).toBe(false);
  });

  it('pays a retried letter with the same token: one copy, the same id', async () => {
    const { ann, bob } = await annAndBob();
    const { to, sealed } = await ann.client.prepareLetter('bob', 'sent once');
    // The Operator takes the letter, but its answer is lost on the way back.
    let lose = true;
    const lossy = withOverrides(world.operator, {
      sendAnonymously: async (letter) => {
        const answer = await world.operator.sendAnonymously(letter);
        if (lose) {
          lose = false;
          throw new KomradeError('OPERATOR_UNREACHABLE', 'answer lost');
        }
        return answer;
      },
    });
    const client = annOver(ann, lossy);
    expect(await codeOf(client.deliver({ to, sealed }))).toBe('OPERATOR_UNREACHABLE');
    const again = await client.deliver({ to, sealed });
    const sends = world.operator.anonymousSends;
    expect(sends).toHaveLength(1);
    expect(world.operator.mailboxes.get('bob')).toHaveLength(1);
    expect(Buffer.from(again.id).toString('hex')).toBe(
      Buffer.from(world.operator.mailboxes.get('bob')![0]!.id).toString('hex'),
    );
    // One for bob's prekey bundle (when the letter was prepared), one for the letter.
    expect(ann.client.tokensHeld()).toBe(TOKEN_REFILL_BATCH - 2);
    expect((await bob.client.checkInbox()).requested).toBe(1);
  });

  it('pays a letter retried after a crash with the token reserved for it before the crash', async () => {
    const { ann } = await annAndBob();
    const { to, sealed } = await ann.client.prepareLetter('bob', 'sent before a crash');
    const paidWith: string[] = [];
    const recording = (dies: boolean) =>
      withOverrides(world.operator, {
        sendAnonymously: async (letter) => {
          paidWith.push(Buffer.from(letter.token.input).toString('hex'));
          const answer = await world.operator.sendAnonymously(letter);
          if (dies) throw new KomradeError('OPERATOR_UNREACHABLE', 'the process died');
          return answer;
        },
      });
    // The process dies after the Operator took the letter, before it heard the answer.
    const dying = annOver(ann, recording(true));
    expect(await codeOf(dying.deliver({ to, sealed }))).toBe('OPERATOR_UNREACHABLE');
    // A new process on the same local store sends the same letter again.
    const again = await annOver(ann, recording(false)).deliver({ to, sealed });
    expect(paidWith).toHaveLength(2);
    expect(paidWith[1]).toBe(paidWith[0]);
    expect(world.operator.mailboxes.get('bob')).toHaveLength(1);
    expect(Buffer.from(again.id).toString('hex')).toBe(
      Buffer.from(world.operator.mailboxes.get('bob')![0]!.id).toString('hex'),
    );
  });

  it('drops a token the Operator says was spent (a restored copy) and pays with another', async () => {
    const { ann, bob } = await annAndBob();
    await ann.client.send('bob', 'first');
    let refusals = 0;
    const spentElsewhere = withOverrides(world.operator, {
      sendAnonymously: (letter) => {
        if (refusals++ === 0) return Promise.reject(new KomradeError('TOKEN_SPENT', 'spent'));
        return world.operator.sendAnonymously(letter);
      },
    });
    const before = ann.client.tokensHeld();
    await annOver(ann, spentElsewhere).send('bob', 'second');
    expect(ann.client.tokensHeld()).toBe(before - 2);
    expect((await bob.client.checkInbox()).requested).toBe(2);
  });

  it('frees the token of a letter the Operator refused for its recipient', async () => {
    const { ann } = await annAndBob();
    await ann.client.send('bob', 'first');
    const held = ann.client.tokensHeld();
    const gone = withOverrides(world.operator, {
      sendAnonymously: () => Promise.reject(new KomradeError('NAME_UNKNOWN', 'gone')),
    });
    expect(await codeOf(annOver(ann, gone).send('bob', 'x'))).toBe('NAME_UNKNOWN');
    expect(ann.client.tokensHeld()).toBe(held);
  });

  it('posts to followers as one send per copy, in random order, paced over the window', async () => {
    const { ann } = await annAndBob();
    const fans = ['cat', 'dan', 'eve', 'fay'];
    for (const fan of fans) {
      const k = await world.registered(fan);
      await k.client.follow('ann');
    }
    await ann.client.checkInbox();
    world.operator.anonymousSends.length = 0;
    world.pauses.length = 0;
    const progress: string[] = [];
    const post = await ann.client.postToFollowers('assembly at noon', {
      onProgress: (k, n) => progress.push(`${k}/${n}`),
    });
    expect([...post.followers].sort()).toEqual(fans);
    const sends = world.operator.anonymousSends;
    expect(sends.map((s) => s.to).sort()).toEqual(fans);
    expect(new Set(sends.map((s) => Buffer.from(s.token.input).toString('hex'))).size).toBe(4);
    // Every copy the same size class as any letter.
    expect(new Set(sends.map((s) => s.sealed.length)).size).toBe(1);
    expect(progress).toEqual(['1/4', '2/4', '3/4', '4/4']);
    expect(world.pauses).toHaveLength(4);
    expect(world.pauses.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(8_000);
  });
});
