/**
 * One contract for every `OperatorClient`: what the engine may rely on, whichever Operator answers.
 * Run against the in-memory `FakeOperator` and against `HttpOperatorClient` talking to a real
 * Operator, so the fake cannot drift from the real thing unnoticed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkReceiptProof,
  openRegistryCheckpoint,
  type OperatorClient,
  type RequestSigner,
} from '../../client/index.js';
import {
  DEFAULT_CONSTITUTION,
  collectivePowBytes,
  sealCollectiveBody,
  sealKeyEnvelope,
  type CollectiveMessage,
  type SealedCollectiveMessage,
} from '../../common/collectives/index.js';
import {
  blind,
  finalize,
  generateIdentityKeys,
  randomBytes,
  type IdentityKeys,
} from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import { verifyConsistency } from '../../common/transparency/index.js';
import {
  ID_BYTES,
  MAX_LOG_ENTRIES,
  SEALED_SIZE_CLASSES,
  claimBytesForPow,
  decodeSignedPost,
  openFeedPage,
  proveClaim,
  sealPost,
  solveProofOfWork,
  tokenEpochInfo,
  tokenEpochOf,
  type Receipt,
  type RegisterRequest,
  type Token,
} from '../../common/wire/index.js';
import { CollectiveWriter } from '../support/collective-writer.js';
import { testRatchetKey } from '../support/operator-test-client.js';

/**
 * A collective message as the Operator sees one: the body once, and per member a key envelope of
 * the continuing-session length whose ratchet layer is a stand-in (the Operator never opens it).
 */
function sealedFor(
  message: CollectiveMessage,
  signSecret: Uint8Array,
  members: readonly { readonly name: string; readonly boxKey: Uint8Array }[],
): SealedCollectiveMessage {
  const { body, contentKey } = sealCollectiveBody(message, signSecret);
  return {
    body,
    keys: members.map((member) => ({
      to: member.name,
      sealed: sealKeyEnvelope(
        { v: 2, from: message.from, type: 'message', msg: contentKey },
        member,
      ),
    })),
  };
}

/** An Operator client under test, and how to let it go. */
export interface ContractSubject {
  readonly client: OperatorClient;
  readonly close: () => Promise<void>;
}

/** A komrade registered for one test: its keys and what signs its requests. */
interface Member {
  readonly name: string;
  readonly keys: IdentityKeys;
  readonly signer: RequestSigner;
}

const DAY_MS = 86_400_000;

/** The code a rejected call carries (fails the test when it resolves or throws something else). */
async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KomradeError) return error.code;
    throw error;
  }
  throw new Error('expected a KomradeError, but the call succeeded');
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

/** A receipt without its log proof (whose tree size moves on as others register). */
const bare = (receipt: Receipt): Receipt => {
  const rest = { ...receipt };
  delete rest.proof;
  return rest;
};

/** Declares the contract's tests for the subject `start` makes (once per file, in `beforeAll`). */
export function operatorClientContract(label: string, start: () => Promise<ContractSubject>): void {
  describe(`OperatorClient contract: ${label}`, () => {
    let subject: ContractSubject | undefined;
    const op = (): OperatorClient => {
      if (subject === undefined) throw new Error('The subject starts in beforeAll.');
      return subject.client;
    };
    beforeAll(async () => {
      subject = await start();
    });
    afterAll(async () => {
      await subject?.close();
    });

    // Names unique across this file's tests: the real Operator keeps what earlier tests made.
    const tag = hex(randomBytes(3));
    let counter = 0;
    const unique = (prefix: string) => `${prefix}_${++counter}_${tag}`;

    async function request(name: string, keys = generateIdentityKeys()): Promise<RegisterRequest> {
      const info = await op().info();
      const claim = {
        name,
        signKey: keys.signPublic,
        boxKey: keys.boxPublic,
        keyHolder: 'self',
        ratchetKey: testRatchetKey(),
      };
      const pow = await solveProofOfWork(claimBytesForPow(claim), info.powBits);
      return { ...claim, pop: proveClaim(claim, keys.signSecret), pow };
    }

    async function member(prefix: string): Promise<Member> {
      const name = unique(prefix);
      const keys = generateIdentityKeys();
      await op().register(await request(name, keys));
      return { name, keys, signer: { name, signSecret: keys.signSecret } };
    }

    // Stand-ins for sealed letters: the text, zero-filled to the smallest size class.
    const CLASS = SEALED_SIZE_CLASSES[0];
    const letter = (to: Member, text: string) => {
      const sealed = Buffer.alloc(CLASS);
      sealed.write(text);
      return { to: to.name, sealed };
    };
    const texts = (letters: readonly { sealed: Uint8Array }[]) =>
      letters.map((l) => Buffer.from(l.sealed).toString().replace(/\0+$/, ''));

    /** `count` tokens for `who`, checked against the announced token key. */
    async function tokens(who: Member, count: number): Promise<Token[]> {
      const info = await op().info();
      const epoch = tokenEpochOf(Date.now());
      const inputs = Array.from({ length: count }, () => randomBytes(32));
      const batch = blind('POPRF', inputs);
      const answer = await op().issueTokens(who.signer, batch.blindedElements, epoch);
      expect(answer.epoch).toBe(epoch);
      const outputs = finalize(
        { mode: 'POPRF', info: tokenEpochInfo(epoch) },
        info.tokenKey,
        batch,
        {
          evaluatedElements: answer.evaluated,
          proof: answer.proof,
        },
      );
      return outputs.map((output, i) => ({ epoch, input: inputs[i] as Uint8Array, output }));
    }

    /** Sends each letter anonymously, paid with a token `from` obtained. */
    async function send(
      from: Member,
      letters: readonly { to: string; sealed: Uint8Array }[],
    ): Promise<{ ids: Uint8Array[] }> {
      const paid = await tokens(from, letters.length);
      const ids: Uint8Array[] = [];
      for (const [i, l] of letters.entries()) {
        ids.push((await op().sendAnonymously({ ...l, token: paid[i] as Token })).id);
      }
      return { ids };
    }

    describe('info and names', () => {
      it('describes the Operator', async () => {
        const info = await op().info();
        expect(info.version).toBe(2);
        expect(info.tokenKey).toHaveLength(32);
        expect(info.tokensPerDay).toBeGreaterThan(0);
        expect(info.signKey).toHaveLength(32);
        expect(info.feedKey).toHaveLength(32);
        expect(info.limits.fetchLetters).toBeGreaterThan(0);
      });

      it('registers a name and looks it up, folded', async () => {
        const name = unique('ana');
        const keys = generateIdentityKeys();
        const receipt = await op().register(await request(name, keys));
        expect(receipt.name).toBe(name);
        expect(receipt.signKey).toEqual(keys.signPublic);
        expect(bare(await op().lookup(name))).toEqual(bare(receipt));
        expect(bare(await op().lookup(`@${name.toUpperCase()}`))).toEqual(bare(receipt));
      });

      it('refuses a taken name, a reserved one and an invalid one', async () => {
        const taken = await member('bea');
        expect(await codeOf(op().register(await request(taken.name)))).toBe('NAME_TAKEN');
        expect(await codeOf(op().register(await request('admin')))).toBe('NAME_RESERVED');
        expect(await codeOf(op().register(await request('no spaces')))).toBe('NAME_INVALID');
        expect(await codeOf(op().register(await request('x')))).toBe('NAME_INVALID');
      });

      it('refuses a registration whose proof of possession is for other keys', async () => {
        const good = await request(unique('cid'));
        const forged = { ...good, signKey: generateIdentityKeys().signPublic };
        expect(await codeOf(op().register(forged))).toBe('BAD_SIGNATURE');
      });

      it('says NAME_UNKNOWN for an unknown name and NAME_INVALID for a malformed one', async () => {
        expect(await codeOf(op().lookup(unique('nobody')))).toBe('NAME_UNKNOWN');
        expect(await codeOf(op().lookup('no spaces'))).toBe('NAME_INVALID');
      });
    });

    describe('the registry log', () => {
      it('proves every receipt it answers in a checkpoint signed with its key', async () => {
        const { signKey } = await op().info();
        const ana = await member('log');
        const receipt = await op().lookup(ana.name);
        const checked = checkReceiptProof(receipt, signKey);
        if (!checked.ok) throw new Error(`refused: ${checked.kind}`);
        const again = checkReceiptProof(await op().lookup(ana.name), signKey);
        expect(again.ok).toBe(true);
        // Another key cannot open it: the origin and signature are the Operator's own.
        expect(
          openRegistryCheckpoint(checked.proof.checkpoint, generateIdentityKeys().signPublic).ok,
        ).toBe(false);
      });

      it('serves the newest checkpoint, consistency proofs and entries in log order', async () => {
        const { signKey } = await op().info();
        const first = await op().register(await request(unique('lg')));
        const firstProof = checkReceiptProof(first, signKey);
        if (!firstProof.ok) throw new Error('the registration has no valid proof');
        await member('lh');
        const newest = openRegistryCheckpoint(await op().logCheckpoint(), signKey);
        if (!newest.ok) throw newest.error;
        const from = firstProof.checkpoint.checkpoint;
        const to = newest.value.checkpoint;
        expect(to.size).toBeGreaterThan(from.size);
        const hashes = await op().logConsistency(from.size, to.size);
        expect(verifyConsistency(from.size, to.size, from.rootHash, to.rootHash, hashes)).toBe(
          true,
        );
        expect(await op().logConsistency(to.size, to.size)).toEqual([]);
        const index = firstProof.proof.index;
        const entries = await op().logEntries(index, index + 1);
        expect(entries.map(bare)).toEqual([bare(first)]);
        expect(entries[0]?.proof).toBeUndefined();
      });

      it('refuses sizes and ranges the log cannot answer', async () => {
        await member('li');
        const { signKey } = await op().info();
        const newest = openRegistryCheckpoint(await op().logCheckpoint(), signKey);
        if (!newest.ok) throw newest.error;
        const size = newest.value.checkpoint.size;
        expect(await codeOf(op().logConsistency(0, size))).toBe('BAD_REQUEST');
        expect(await codeOf(op().logConsistency(size, size - 1))).toBe('BAD_REQUEST');
        expect(await codeOf(op().logConsistency(1, size + 1))).toBe('BAD_REQUEST');
        expect(await codeOf(op().logEntries(0, 0))).toBe('BAD_REQUEST');
        expect(await codeOf(op().logEntries(size + 1, size + 2))).toBe('BAD_REQUEST');
        // An end beyond the log is cut to it.
        expect(await op().logEntries(size, size + 1)).toEqual([]);
        expect(await op().logEntries(size - 1, size + 5)).toHaveLength(1);
        expect(await codeOf(op().logEntries(0, MAX_LOG_ENTRIES + 1))).toBe('BAD_REQUEST');
      });
    });

    describe('ratchet keys and prekeys', () => {
      const signedPrekey = (id: number) => ({
        id,
        publicKey: testRatchetKey(),
        signature: randomBytes(64),
      });
      const kyberPrekey = (id: number) => ({
        id,
        publicKey: Uint8Array.of(0x08, ...randomBytes(1_568)),
        signature: randomBytes(64),
      });
      const oneTime = (from: number, count: number) =>
        Array.from({ length: count }, (_, i) => ({ id: from + i, publicKey: testRatchetKey() }));

      it('answers the ratchet key in receipts, and keeps it: same key again, another refused', async () => {
        const name = unique('rk');
        const keys = generateIdentityKeys();
        const registered = await request(name, keys);
        const receipt = await op().register(registered);
        expect(receipt.ratchetKey).toEqual(registered.ratchetKey);
        expect((await op().lookup(name)).ratchetKey).toEqual(registered.ratchetKey);
        const signer = { name, signSecret: keys.signSecret };
        const claim = { ...receipt, ratchetKey: registered.ratchetKey as Uint8Array };
        const same = await op().setRatchetKey(signer, {
          ratchetKey: claim.ratchetKey,
          pop: proveClaim(claim, keys.signSecret),
        });
        expect(bare(same)).toEqual(bare(receipt));
        expect(checkReceiptProof(same, (await op().info()).signKey).ok).toBe(true);
        const other = { ...claim, ratchetKey: testRatchetKey() };
        expect(
          await codeOf(
            op().setRatchetKey(signer, {
              ratchetKey: other.ratchetKey,
              pop: proveClaim(other, keys.signSecret),
            }),
          ),
        ).toBe('RATCHET_KEY_SET');
      });

      it('refuses a registration without a ratchet key', async () => {
        const unkeyed = { ...(await request(unique('nork'))), ratchetKey: null };
        expect(await codeOf(op().register(unkeyed))).toBe('KEY_INVALID');
      });

      it('stores uploads and counts them; refuses a held id', async () => {
        const ana = await member('pk');
        expect(await op().uploadPrekeys(ana.signer, {})).toEqual({
          oneTimeLeft: 0,
          signedPrekey: false,
          kyberPrekey: false,
        });
        const answer = await op().uploadPrekeys(ana.signer, {
          signedPrekey: signedPrekey(1),
          kyberPrekey: kyberPrekey(1),
          oneTimePrekeys: oneTime(1, 3),
        });
        expect(answer).toEqual({ oneTimeLeft: 3, signedPrekey: true, kyberPrekey: true });
        expect(
          await codeOf(op().uploadPrekeys(ana.signer, { oneTimePrekeys: oneTime(3, 1) })),
        ).toBe('PREKEY_ID_USED');
        expect((await op().uploadPrekeys(ana.signer, {})).oneTimeLeft).toBe(3);
      });

      it('replaces every held one-time prekey with replaceOneTime', async () => {
        const [di, payer] = [await member('restored'), await member('payer')];
        const signed = signedPrekey(1);
        const kyber = kyberPrekey(1);
        await op().uploadPrekeys(di.signer, {
          signedPrekey: signed,
          kyberPrekey: kyber,
          oneTimePrekeys: oneTime(1, 3),
        });
        // An id held before may come again: only the new set's ids must be distinct.
        const fresh = oneTime(3, 2);
        expect(
          await op().uploadPrekeys(di.signer, { oneTimePrekeys: fresh, replaceOneTime: true }),
        ).toEqual({ oneTimeLeft: 2, signedPrekey: true, kyberPrekey: true });
        const paid = await tokens(payer, 3);
        const handed = [];
        for (const token of paid) {
          handed.push((await op().fetchPrekeyBundle({ name: di.name, token })).oneTimePrekey);
        }
        expect(handed).toEqual([...fresh, undefined]);
      });

      it('hands out bundles anonymously, each one-time prekey once; a retry gets none', async () => {
        const [bo, payer] = [await member('bundle'), await member('payer')];
        const signed = signedPrekey(5);
        const kyber = kyberPrekey(6);
        const keys = oneTime(10, 2);
        await op().uploadPrekeys(bo.signer, {
          signedPrekey: signed,
          kyberPrekey: kyber,
          oneTimePrekeys: keys,
        });
        const paid = await tokens(payer, 3);
        const first = await op().fetchPrekeyBundle({ name: bo.name, token: paid[0] as Token });
        expect(first).toEqual({
          name: bo.name,
          signedPrekey: signed,
          kyberPrekey: kyber,
          oneTimePrekey: keys[0],
        });
        const retry = await op().fetchPrekeyBundle({ name: bo.name, token: paid[0] as Token });
        expect(retry).toEqual({ name: bo.name, signedPrekey: signed, kyberPrekey: kyber });
        const second = await op().fetchPrekeyBundle({ name: bo.name, token: paid[1] as Token });
        expect(second.oneTimePrekey).toEqual(keys[1]);
        const third = await op().fetchPrekeyBundle({ name: bo.name, token: paid[2] as Token });
        expect(third.oneTimePrekey).toBeUndefined();
      });

      it('refuses a bundle of a name without prekeys, an unknown name, a spent token', async () => {
        const [cy, payer] = [await member('noprekeys'), await member('payer')];
        const paid = await tokens(payer, 2);
        const token = paid[0] as Token;
        expect(await codeOf(op().fetchPrekeyBundle({ name: cy.name, token }))).toBe(
          'PREKEYS_MISSING',
        );
        expect(await codeOf(op().fetchPrekeyBundle({ name: unique('nobody'), token }))).toBe(
          'NAME_UNKNOWN',
        );
        await op().sendAnonymously({ ...letter(cy, 'x'), token: paid[1] as Token });
        await op().uploadPrekeys(cy.signer, {
          signedPrekey: signedPrekey(1),
          kyberPrekey: kyberPrekey(1),
        });
        expect(
          await codeOf(op().fetchPrekeyBundle({ name: cy.name, token: paid[1] as Token })),
        ).toBe('TOKEN_SPENT');
        expect((await op().fetchPrekeyBundle({ name: cy.name, token })).oneTimePrekey).toBe(
          undefined,
        );
      });
    });

    describe('mail', () => {
      it('fetches oldest first, at most `limit`, and says when more wait', async () => {
        const [ana, bo] = [await member('ana'), await member('bo')];
        const sent = await send(ana, [letter(bo, 'one'), letter(bo, 'two')]);
        expect(sent.ids).toHaveLength(2);
        expect(new Set(sent.ids.map(hex)).size).toBe(2);
        await send(ana, [letter(bo, 'three')]);

        const first = await op().fetch(bo.signer, { limit: 2 });
        expect(texts(first.letters)).toEqual(['one', 'two']);
        expect(first.more).toBe(true);
        expect(first.letters.map((l) => hex(l.id))).toEqual(sent.ids.map(hex));
        // Fetching does not delete: the same letters come back until acknowledged.
        const all = await op().fetch(bo.signer);
        expect(texts(all.letters)).toEqual(['one', 'two', 'three']);
        expect(all.more).toBe(false);
      });

      it('deletes acknowledged letters, and only the acknowledger’s own', async () => {
        const [ana, bo, cy] = [await member('ana'), await member('bo'), await member('cy')];
        const toBo = await send(ana, [letter(bo, 'b1'), letter(bo, 'b2')]);
        const toCy = await send(ana, [letter(cy, 'c1')]);

        expect(await op().ack(bo.signer, toCy.ids)).toBe(0);
        expect(texts((await op().fetch(cy.signer)).letters)).toEqual(['c1']);

        expect(await op().ack(bo.signer, toBo.ids.slice(0, 1))).toBe(1);
        expect(texts((await op().fetch(bo.signer)).letters)).toEqual(['b2']);
        expect(await op().ack(bo.signer, toBo.ids)).toBe(1);
        expect(await op().fetch(bo.signer)).toEqual({ letters: [], more: false });
      });

      it('deletes the acked letters a fetch carries before reading, and only the fetcher’s own', async () => {
        const [ana, bo, cy] = [await member('ana'), await member('bo'), await member('cy')];
        const toBo = await send(ana, [letter(bo, 'b1'), letter(bo, 'b2'), letter(bo, 'b3')]);
        const toCy = await send(ana, [letter(cy, 'c1')]);

        const first = await op().fetch(bo.signer, { limit: 2 });
        expect(texts(first.letters)).toEqual(['b1', 'b2']);
        expect(first).not.toHaveProperty('deleted');
        const next = await op().fetch(bo.signer, {
          limit: 2,
          ack: [...first.letters.map((l) => l.id), ...toCy.ids],
        });
        expect(texts(next.letters)).toEqual(['b3']);
        expect(next).toMatchObject({ more: false, deleted: 2 });
        expect(texts((await op().fetch(cy.signer)).letters)).toEqual(['c1']);
        // The last batch, acked by the fetch that finds nothing more; an empty ack is none.
        expect(await op().fetch(bo.signer, { ack: toBo.ids })).toEqual({
          letters: [],
          more: false,
          deleted: 1,
        });
        expect(await op().fetch(bo.signer, { ack: [] })).toEqual({ letters: [], more: false });
      });

      it('refuses an unknown recipient and a malformed name, and the token stays good', async () => {
        const [ana, bo] = [await member('ana'), await member('bo')];
        const [token] = (await tokens(ana, 1)) as [Token];
        const ghost = { ...letter(bo, 'lost'), to: unique('ghost') };
        expect(await codeOf(op().sendAnonymously({ ...ghost, token }))).toBe('NAME_UNKNOWN');
        expect(
          await codeOf(op().sendAnonymously({ ...letter(bo, 'x'), to: 'No Way', token })),
        ).toBe('NAME_INVALID');
        expect((await op().fetch(bo.signer)).letters).toEqual([]);
        await op().sendAnonymously({ ...letter(bo, 'found'), token });
        expect(texts((await op().fetch(bo.signer)).letters)).toEqual(['found']);
      });

      it('answers an identical retry with the same id, and refuses a token spent on another letter', async () => {
        const [ana, bo] = [await member('ana'), await member('bo')];
        const [token] = (await tokens(ana, 1)) as [Token];
        const once = await op().sendAnonymously({ ...letter(bo, 'once'), token });
        const again = await op().sendAnonymously({ ...letter(bo, 'once'), token });
        expect(hex(again.id)).toBe(hex(once.id));
        expect(texts((await op().fetch(bo.signer)).letters)).toEqual(['once']);
        expect(await codeOf(op().sendAnonymously({ ...letter(bo, 'twice'), token }))).toBe(
          'TOKEN_SPENT',
        );
      });

      it('refuses a forged token, a sealed length outside the size classes, another epoch', async () => {
        const [ana, bo] = [await member('ana'), await member('bo')];
        const [token] = (await tokens(ana, 1)) as [Token];
        const forged = { ...token, output: randomBytes(64) };
        expect(await codeOf(op().sendAnonymously({ ...letter(bo, 'f'), token: forged }))).toBe(
          'TOKEN_INVALID',
        );
        const odd = { to: bo.name, sealed: Buffer.alloc(CLASS + 1) };
        expect(await codeOf(op().sendAnonymously({ ...odd, token }))).toBe('LETTER_SIZE_CLASS');
        const old = { ...token, epoch: token.epoch - 2 };
        expect(await codeOf(op().sendAnonymously({ ...letter(bo, 'o'), token: old }))).toBe(
          'TOKEN_INVALID',
        );
        const blinded = blind('POPRF', [randomBytes(32)]).blindedElements;
        expect(await codeOf(op().issueTokens(ana.signer, blinded, token.epoch + 1))).toBe(
          'TOKEN_INVALID',
        );
        expect((await op().fetch(bo.signer)).letters).toEqual([]);
      });

      it('refuses requests signed by an unregistered name', async () => {
        const keys = generateIdentityKeys();
        const stranger = { name: unique('stranger'), signSecret: keys.signSecret };
        expect(await codeOf(op().fetch(stranger))).toBe('NAME_UNKNOWN');
      });
    });

    describe('waiting for mail', () => {
      it('answers at once when mail already waits', async () => {
        const [ana, bo, cy] = [await member('ana'), await member('bo'), await member('cy')];
        await send(ana, [letter(bo, 'hi')]);
        const answer = await op().waitForMail([bo.signer, cy.signer], { waitMs: 600_000 });
        expect(answer).toEqual({ ready: [bo.name] });
      });

      it('resolves when a letter arrives later', async () => {
        const [ana, bo, cy] = [await member('ana'), await member('bo'), await member('cy')];
        const waiting = op().waitForMail([bo.signer, cy.signer], { waitMs: 600_000 });
        await send(ana, [letter(cy, 'later')]);
        expect(await waiting).toEqual({ ready: [cy.name] });
      });

      it('answers `ready: []` when the wait runs out', async () => {
        const bo = await member('bo');
        expect(await op().waitForMail([bo.signer], { waitMs: 20 })).toEqual({ ready: [] });
      });

      it('rejects with the signal’s reason when aborted', async () => {
        const bo = await member('bo');
        const controller = new AbortController();
        const waiting = op().waitForMail([bo.signer], {
          waitMs: 600_000,
          signal: controller.signal,
        });
        const reason = new Error('shutting down');
        controller.abort(reason);
        await expect(waiting).rejects.toBe(reason);
        const early = op().waitForMail([bo.signer], { waitMs: 10, signal: controller.signal });
        await expect(early).rejects.toBe(reason);
      });

      it('refuses no mailboxes, and an unknown one', async () => {
        expect(await codeOf(op().waitForMail([], { waitMs: 10 }))).toBe('BAD_REQUEST');
        const keys = generateIdentityKeys();
        const stranger = { name: unique('stranger'), signSecret: keys.signSecret };
        expect(await codeOf(op().waitForMail([stranger], { waitMs: 10 }))).toBe('NAME_UNKNOWN');
      });
    });

    describe('the world feed', () => {
      it('publishes posts and pages them newest first', async () => {
        const ana = await member('ana');
        const info = await op().info();
        const ids: Uint8Array[] = [];
        for (const [i, body] of ['first', 'second', 'third'].entries()) {
          const post = {
            v: 1 as const,
            from: ana.name,
            postedAt: Date.now() + i,
            id: randomBytes(ID_BYTES),
            days: 2,
            body,
          };
          const before = Date.now();
          const posted = await op().post(
            ana.signer,
            sealPost(post, ana.keys.signSecret, info.feedKey),
          );
          expect(posted.id).toEqual(post.id);
          expect(posted.expiresAt).toBeGreaterThanOrEqual(before + 2 * DAY_MS);
          ids.push(post.id);
        }
        const open = async (before?: string) => {
          const sealed = await op().feedPage(ana.signer, {
            limit: 2,
            ...(before === undefined ? {} : { before }),
          });
          const page = openFeedPage(sealed, ana.keys.boxPublic, ana.keys.boxSecret);
          if (!page.ok) throw page.error;
          return page.value;
        };
        // Other tests of this file post too: find ours by author.
        const ours: string[] = [];
        let page = await open();
        for (;;) {
          for (const carried of page.posts) {
            const opened = decodeSignedPost(carried);
            if (!opened.ok) throw opened.error;
            if (opened.value.post.from === ana.name) ours.push(opened.value.post.body);
          }
          if (page.next === null) break;
          page = await open(page.next);
        }
        expect(ours).toEqual(['third', 'second', 'first']);
      });

      it('refuses a post signed as somebody else', async () => {
        const [ana, bo] = [await member('ana'), await member('bo')];
        const info = await op().info();
        const post = {
          v: 1 as const,
          from: bo.name,
          postedAt: Date.now(),
          id: randomBytes(ID_BYTES),
          days: 1,
          body: 'not me',
        };
        const sealed = sealPost(post, ana.keys.signSecret, info.feedKey);
        expect(await codeOf(op().post(ana.signer, sealed))).toBe('BAD_SIGNATURE');
      });
    });

    describe('collectives', () => {
      /** Founders `ana` and `bo`, a registered outsider `cy`, and a writer that knows their keys. */
      async function founded() {
        const [ana, bo, cy, dee] = [
          await member('ana'),
          await member('bo'),
          await member('cy'),
          await member('dee'),
        ];
        const writer = new CollectiveWriter(undefined, Date.now());
        for (const m of [ana, bo, cy, dee]) writer.registry.keys.set(m.name, m.keys);
        for (const m of [ana, bo, cy, dee]) writer.registry.holders.set(m.name, 'self');
        const name = unique('cell');
        const genesis = writer.genesis(name, [ana.name, bo.name], DEFAULT_CONSTITUTION);
        const info = await op().info();
        const pow = await solveProofOfWork(collectivePowBytes(genesis.signed), info.powBits);
        const head = await op().createCollective(ana.signer, genesis, pow);
        return { ana, bo, cy, dee, writer, name, genesis, pow, head };
      }

      it('creates a collective and tells anyone registered where its log ends', async () => {
        const { cy, writer, name, head } = await founded();
        expect(head).toMatchObject({ collective: name, length: 1 });
        expect(head.head).toEqual(writer.log.head);
        expect(await op().collectiveHead(cy.signer, name)).toEqual(head);
      });

      it('refuses a taken collective name and an unknown collective', async () => {
        const { ana, name, genesis, pow } = await founded();
        expect(await codeOf(op().createCollective(ana.signer, genesis, pow))).toBe('NAME_TAKEN');
        expect(await codeOf(op().collectiveHead(ana.signer, unique('nocell')))).toBe(
          'NAME_UNKNOWN',
        );
        // A collective's name is no komrade's: it cannot be registered either.
        expect(await codeOf(op().register(await request(name)))).toBe('NAME_TAKEN');
      });

      it('appends the next event and refuses one drafted from a stale head', async () => {
        const { cy, dee, writer, name } = await founded();
        const cyAsks = writer.sign('join-request', cy.name, { note: '' });
        const deeAsks = writer.sign('join-request', dee.name, { note: '' });
        const head = await op().appendEvent(cy.signer, cyAsks);
        expect(head.length).toBe(2);
        expect(await codeOf(op().appendEvent(dee.signer, deeAsks))).toBe('COLLECTIVE_CONFLICT');
        expect((await op().collectiveHead(dee.signer, name)).length).toBe(2);
      });

      it('serves the log with receipts to members and candidates only', async () => {
        const { ana, cy, dee, writer, name, genesis } = await founded();
        const cyAsks = writer.sign('join-request', cy.name, { note: '' });
        await op().appendEvent(cy.signer, cyAsks);

        const page = await op().collectiveLog(ana.signer, name, 0);
        expect(page).toMatchObject({ collective: name, from: 0, length: 2 });
        const asHex = (events: readonly { signed: Uint8Array; sig: Uint8Array }[]) =>
          events.map((e) => hex(e.signed) + hex(e.sig));
        expect(asHex(page.events)).toEqual(asHex([genesis, cyAsks]));
        expect(page.receipts.map((r) => r.name)).toEqual(
          expect.arrayContaining([ana.name, cy.name]),
        );
        const { signKey } = await op().info();
        for (const receipt of page.receipts) {
          expect(checkReceiptProof(receipt, signKey).ok).toBe(true);
        }
        const tail = await op().collectiveLog(cy.signer, name, 1, 1);
        expect(asHex(tail.events)).toEqual(asHex([cyAsks]));
        expect(await codeOf(op().collectiveLog(dee.signer, name, 0))).toBe('NOT_MEMBER');
      });

      it('delivers a collective message to every other member, with the shared body', async () => {
        const { ana, bo, cy, name } = await founded();
        const message = {
          v: 1 as const,
          collective: name,
          from: ana.name,
          sentAt: Date.now(),
          id: randomBytes(ID_BYTES),
          text: 'hello cell',
        };
        const sealed = sealedFor(message, ana.keys.signSecret, [
          { name: bo.name, boxKey: bo.keys.boxPublic },
        ]);
        const sent = await op().sendToCollective(ana.signer, name, sealed);
        expect(sent.recipients).toBe(1);
        const got = await op().fetch(bo.signer);
        expect(got.letters).toHaveLength(1);
        expect(got.letters[0]?.body).toEqual(sealed.body);
        expect((await op().fetch(ana.signer)).letters).toEqual([]);

        const toCy = sealedFor(message, ana.keys.signSecret, [
          { name: cy.name, boxKey: cy.keys.boxPublic },
        ]);
        expect(await codeOf(op().sendToCollective(ana.signer, name, toCy))).toBe(
          'COLLECTIVE_CONFLICT',
        );
        expect(await codeOf(op().sendToCollective(cy.signer, name, sealed))).toBe('NOT_MEMBER');
      });
    });
  });
}
