/**
 * The client's registry auditor against hand-built logs signed with an Operator key: receipts
 * without proofs or with tampered ones, checkpoints signed by another key, forks at the same size
 * and at a larger one, older checkpoints, refusals and network failures.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RegistryAuditor,
  SqliteLocalStore,
  checkReceiptProof,
  type LogAuditStore,
  type LogEvidence,
} from '../../client/index.js';
import { generateIdentityKeys, randomBytes, type IdentityKeys } from '../../common/crypto/index.js';
import { KomradeError } from '../../common/errors/index.js';
import {
  MemoryMerkleTree,
  consistencyProof,
  inclusionProof,
  leafHash,
  noteSigner,
  rootHash,
  signCheckpoint,
} from '../../common/transparency/index.js';
import {
  fromBase64url,
  receiptLeaf,
  registryOrigin,
  signReceipt,
  type Receipt,
} from '../../common/wire/index.js';

/** A registry log in memory, signed with `operator`'s key: the real one or a fork of it. */
class Log {
  readonly tree = new MemoryMerkleTree();
  readonly receipts: Receipt[] = [];
  constructor(readonly operator: IdentityKeys) {}

  add(name: string): Receipt {
    const keys = generateIdentityKeys();
    const receipt = signReceipt(
      {
        name,
        signKey: keys.signPublic,
        boxKey: keys.boxPublic,
        keyHolder: 'self',
        ratchetKey: Uint8Array.of(0x05, ...keys.boxPublic),
        registeredAt: 1_700_000_000_000 + this.receipts.length,
      },
      this.operator.signSecret,
    );
    this.tree.append(leafHash(receiptLeaf(receipt)));
    this.receipts.push(receipt);
    return receipt;
  }

  /** A copy of the first `size` leaves (to fork from). */
  prefix(size: number): Log {
    const copy = new Log(this.operator);
    for (const receipt of this.receipts.slice(0, size)) {
      copy.tree.append(leafHash(receiptLeaf(receipt)));
      copy.receipts.push(receipt);
    }
    return copy;
  }

  checkpoint(size = this.tree.size, signer: IdentityKeys = this.operator): string {
    const origin = registryOrigin(this.operator.signPublic);
    return signCheckpoint(
      { origin, size, rootHash: rootHash(this.tree, size), extensions: [] },
      noteSigner(origin, signer),
    );
  }

  /** Receipt `index` with its proof at the log's size. */
  proven(index: number): Receipt {
    const receipt = this.receipts[index] as Receipt;
    const size = this.tree.size;
    return {
      ...receipt,
      proof: {
        index,
        size,
        hashes: inclusionProof(this.tree, index, size),
        checkpoint: this.checkpoint(size),
      },
    };
  }

  /** Operator calls answered from this log (counting the consistency proofs asked for). */
  operator_(): {
    logCheckpoint: () => Promise<string>;
    logConsistency: (from: number, to: number) => Promise<readonly Uint8Array[]>;
    asked: [number, number][];
  } {
    const asked: [number, number][] = [];
    return {
      asked,
      logCheckpoint: () => Promise.resolve(this.checkpoint()),
      logConsistency: (from, to) => {
        asked.push([from, to]);
        try {
          return Promise.resolve(consistencyProof(this.tree, from, to));
        } catch (error) {
          return Promise.reject(error instanceof Error ? error : new Error(String(error)));
        }
      },
    };
  }
}

/** The auditor's store in memory. */
function memoryStore(): LogAuditStore & { saved: string[] } {
  let checkpoint: string | undefined;
  let evidence: LogEvidence | undefined;
  const saved: string[] = [];
  return {
    saved,
    logCheckpoint: () => checkpoint,
    saveLogCheckpoint: (note) => {
      checkpoint = note;
      saved.push(note);
    },
    logEvidence: () => evidence,
    saveLogEvidence: (e) => {
      evidence = JSON.parse(JSON.stringify(e)) as LogEvidence;
    },
    clearLogEvidence: () => {
      evidence = undefined;
    },
  };
}

async function failure(promise: Promise<unknown>): Promise<KomradeError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof KomradeError) return error;
    throw error;
  }
  throw new Error('expected a KomradeError, but the call succeeded');
}

let operatorKeys: IdentityKeys;
let real: Log;

beforeEach(() => {
  operatorKeys = generateIdentityKeys();
  real = new Log(operatorKeys);
  for (const name of ['ana', 'bo', 'cy', 'dee', 'eve']) real.add(name);
});

function auditor(
  operator: Pick<ReturnType<Log['operator_']>, 'logCheckpoint' | 'logConsistency'>,
  store: LogAuditStore = memoryStore(),
  now = () => 42,
): RegistryAuditor {
  return new RegistryAuditor({
    operator,
    store,
    operatorKey: () => Promise.resolve(operatorKeys.signPublic),
    now,
  });
}

describe('RegistryAuditor: receipts', () => {
  it('accepts a receipt included in the signed checkpoint, and remembers that checkpoint', async () => {
    const store = memoryStore();
    const a = auditor(real.operator_(), store);
    const checked = await a.checkReceipt(real.proven(2));
    expect(checked.checkpoint.size).toBe(5);
    expect(a.newestCheckpoint()).toBe(real.checkpoint());
    expect(a.logEvidence()).toBeUndefined();
  });

  it('refuses a receipt without a proof as a malformed answer, keeping no evidence', async () => {
    const a = auditor(real.operator_());
    const error = await failure(a.checkReceipt(real.receipts[1] as Receipt));
    expect(error.code).toBe('OPERATOR_ERROR');
    expect(error.message).toMatch(/@bo.*no log proof/);
    expect(a.logEvidence()).toBeUndefined();
    expect(a.newestCheckpoint()).toBeUndefined();
  });

  it('refuses a proof whose checkpoint another key signed, or whose sizes do not fit', async () => {
    const a = auditor(real.operator_());
    const proven = real.proven(1);
    const proof = proven.proof!;
    const otherKey = {
      ...proven,
      proof: { ...proof, checkpoint: real.checkpoint(5, generateIdentityKeys()) },
    };
    expect((await failure(a.checkReceipt(otherKey))).code).toBe('OPERATOR_ERROR');
    const wrongSize = { ...proven, proof: { ...proof, size: 4 } };
    expect((await failure(a.checkReceipt(wrongSize))).code).toBe('OPERATOR_ERROR');
    const pastEnd = { ...proven, proof: { ...proof, index: 5 } };
    expect((await failure(a.checkReceipt(pastEnd))).code).toBe('OPERATOR_ERROR');
    expect(a.logEvidence()).toBeUndefined();
  });

  it('stops on a tampered proof hash: the signed checkpoint does not hold the receipt', async () => {
    const store = memoryStore();
    const a = auditor(real.operator_(), store, () => 1234);
    const proven = real.proven(3);
    const hashes = proven.proof!.hashes.map((h) => Uint8Array.from(h));
    hashes[0]![0]! ^= 1;
    const error = await failure(a.checkReceipt({ ...proven, proof: { ...proven.proof!, hashes } }));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(error.message).toMatch(/@dee.*not in the log/);
    const evidence = a.logEvidence()!;
    expect(evidence).toMatchObject({
      kind: 'not-included',
      source: 'operator',
      detectedAt: 1234,
      presented: real.checkpoint(),
      index: 3,
    });
    // Anyone can check it again: the leaf is the signed receipt's.
    expect(fromBase64url(evidence.leaf!)).toEqual(receiptLeaf(real.receipts[3] as Receipt));
    // Stopped: even a good receipt is refused now.
    expect((await failure(a.checkReceipt(real.proven(0)))).code).toBe('LOG_INCONSISTENT');
  });

  it('a receipt that is another leaf than the proof says is not included either', async () => {
    const a = auditor(real.operator_());
    const swapped = { ...real.proven(1), proof: real.proven(2).proof! };
    expect((await failure(a.checkReceipt(swapped))).code).toBe('LOG_INCONSISTENT');
  });

  it('checks a proof alone with checkReceiptProof (what monitors and other tools can call)', () => {
    expect(checkReceiptProof(real.proven(4), operatorKeys.signPublic).ok).toBe(true);
    expect(checkReceiptProof(real.receipts[4] as Receipt, operatorKeys.signPublic)).toMatchObject({
      ok: false,
      kind: 'malformed',
    });
    expect(checkReceiptProof(real.proven(4), generateIdentityKeys().signPublic)).toMatchObject({
      ok: false,
      kind: 'malformed',
    });
  });
});

describe('RegistryAuditor: checkpoints', () => {
  it('adopts a newer checkpoint only with a consistency proof from the remembered one', async () => {
    const served = real.operator_();
    const store = memoryStore();
    const a = auditor(served, store);
    await a.observe(real.checkpoint(3), 'operator');
    await a.observe(real.checkpoint(5), 'operator');
    expect(served.asked).toEqual([[3, 5]]);
    expect(store.logCheckpoint()).toBe(real.checkpoint(5));
    // The same checkpoint again costs nothing.
    await a.observe(real.checkpoint(5), 'operator');
    expect(served.asked).toHaveLength(1);
  });

  it('keeps the newer checkpoint when an older, consistent one comes (from gossip)', async () => {
    const served = real.operator_();
    const store = memoryStore();
    const a = auditor(served, store);
    await a.observe(real.checkpoint(5), 'operator');
    const older = await a.observe(real.checkpoint(2), 'gossip from @bo');
    expect(served.asked).toEqual([[2, 5]]);
    expect(older.checkpoint.size).toBe(5);
    expect(store.logCheckpoint()).toBe(real.checkpoint(5));
  });

  it('adopts anything after the empty tree, and refuses an "empty" tree with another root', async () => {
    const empty = new Log(operatorKeys);
    const a = auditor(real.operator_());
    await a.observe(empty.checkpoint(0), 'operator');
    await a.observe(real.checkpoint(4), 'operator');
    expect(a.newestCheckpoint()).toBe(real.checkpoint(4));
    const origin = registryOrigin(operatorKeys.signPublic);
    const lie = signCheckpoint(
      { origin, size: 0, rootHash: randomBytes(32), extensions: [] },
      noteSigner(origin, operatorKeys),
    );
    const error = await failure(a.observe(lie, 'operator'));
    expect(error.code).toBe('LOG_INCONSISTENT');
  });

  it('refuses a checkpoint another key signed (or for another origin), keeping no evidence', async () => {
    const a = auditor(real.operator_());
    await a.observe(real.checkpoint(), 'operator');
    const impostor = new Log(generateIdentityKeys());
    impostor.add('ana');
    expect((await failure(a.observe(impostor.checkpoint(), 'operator'))).code).toBe(
      'OPERATOR_ERROR',
    );
    expect(
      (await failure(a.observe(real.checkpoint(5, generateIdentityKeys()), 'operator'))).code,
    ).toBe('OPERATOR_ERROR');
    expect(a.logEvidence()).toBeUndefined();
    expect(a.newestCheckpoint()).toBe(real.checkpoint());
  });

  it('catches a fork at the same size: two signed roots for five entries', async () => {
    const fork = real.prefix(4);
    fork.add('eve'); // another key for @eve: a targeted key swap
    const store = memoryStore();
    const a = auditor(real.operator_(), store, () => 77);
    await a.observe(real.checkpoint(), 'operator');
    const error = await failure(a.observe(fork.checkpoint(), 'gossip from @cy'));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(error.message).toMatch(/two different registry logs of 5 entries/);
    expect(a.logEvidence()).toEqual({
      v: 1,
      kind: 'fork',
      message: expect.stringContaining('5 entries') as unknown,
      checked: 'the roots of two checkpoints of size 5',
      source: 'gossip from @cy',
      detectedAt: 77,
      remembered: real.checkpoint(),
      presented: fork.checkpoint(),
      hashes: [],
    });
    // Stopped for good, with the same message; the Operator is asked nothing more.
    const again = await failure(a.audit());
    expect(again.code).toBe('LOG_INCONSISTENT');
    expect(again.message).toBe(error.message);
  });

  it('catches a fork at a larger size through the consistency proof', async () => {
    // The Operator shows this client a log whose first entries differ from the ones it saw.
    const fork = real.prefix(2);
    fork.add('cy');
    fork.add('dee');
    fork.add('eve');
    fork.add('fay');
    const served = fork.operator_();
    const a = auditor(served, memoryStore());
    await a.observe(real.checkpoint(), 'operator');
    const error = await failure(a.observe(fork.checkpoint(), 'operator'));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(served.asked).toEqual([[5, 6]]);
    const evidence = a.logEvidence()!;
    expect(evidence).toMatchObject({
      kind: 'inconsistent',
      from: 5,
      to: 6,
      remembered: real.checkpoint(),
      presented: fork.checkpoint(),
    });
    expect(evidence.hashes.length).toBeGreaterThan(0);
  });

  it('catches an older checkpoint that is not a prefix of the remembered one', async () => {
    const fork = real.prefix(1);
    fork.add('mallory');
    fork.add('cy');
    const a = auditor(real.operator_(), memoryStore());
    await a.observe(real.checkpoint(), 'operator');
    const error = await failure(a.observe(fork.checkpoint(), 'gossip from @ana'));
    expect(error.code).toBe('LOG_INCONSISTENT');
    expect(a.logEvidence()).toMatchObject({ kind: 'inconsistent', from: 3, to: 5 });
  });

  it('an Operator refusing to prove two sizes it signed is evidence; a network failure is not', async () => {
    const store = memoryStore();
    const down = {
      logCheckpoint: () => Promise.resolve(real.checkpoint()),
      logConsistency: () =>
        Promise.reject(new KomradeError('OPERATOR_UNREACHABLE', 'The Operator cannot be reached.')),
    };
    const a = auditor(down, store);
    await a.observe(real.checkpoint(3), 'operator');
    const error = await failure(a.observe(real.checkpoint(5), 'operator'));
    expect(error.code).toBe('OPERATOR_UNREACHABLE');
    expect(a.logEvidence()).toBeUndefined();
    expect(store.logCheckpoint()).toBe(real.checkpoint(3));

    const refusing = {
      logCheckpoint: down.logCheckpoint,
      logConsistency: () => Promise.reject(new KomradeError('BAD_REQUEST', 'no such sizes')),
    };
    const b = auditor(refusing, store);
    expect((await failure(b.observe(real.checkpoint(5), 'operator'))).code).toBe(
      'LOG_INCONSISTENT',
    );
    expect(store.logEvidence()).toMatchObject({ kind: 'inconsistent', from: 3, to: 5, hashes: [] });
  });

  it('a malformed proof (wrong length, hostile hashes) is a failed proof', async () => {
    for (const hashes of [
      [],
      [randomBytes(32)],
      Array.from({ length: 70 }, () => randomBytes(32)),
    ]) {
      const a = auditor(
        { logCheckpoint: () => Promise.resolve(''), logConsistency: () => Promise.resolve(hashes) },
        memoryStore(),
      );
      await a.observe(real.checkpoint(3), 'operator');
      expect((await failure(a.observe(real.checkpoint(5), 'operator'))).code).toBe(
        'LOG_INCONSISTENT',
      );
    }
  });

  it('runs observations one at a time: concurrent ones never race into a false alarm', async () => {
    const bigger = real.prefix(5);
    for (let i = 0; i < 20; i++) bigger.add(`n${i}`);
    const served = bigger.operator_();
    const store = memoryStore();
    const a = auditor(served, store);
    await a.observe(bigger.checkpoint(1), 'operator');
    const sizes = [7, 3, 12, 25, 9, 25, 2, 18];
    await Promise.all(sizes.map((size) => a.observe(bigger.checkpoint(size), 'operator')));
    expect(store.logCheckpoint()).toBe(bigger.checkpoint(25));
    expect(a.logEvidence()).toBeUndefined();
  });

  it('audit() fetches the Operator’s newest checkpoint and checks it', async () => {
    const a = auditor(real.operator_());
    await a.observe(real.checkpoint(2), 'operator');
    const checked = await a.audit();
    expect(checked.checkpoint.size).toBe(5);
  });
});

describe('RegistryAuditor over the SQLite local store', () => {
  let dir = '';
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'komrade-audit-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps the checkpoint and the evidence across a restart; clearing is explicit', async () => {
    const path = join(dir, 'k.db');
    const storageKey = randomBytes(32);
    const first = new SqliteLocalStore(path, { storageKey });
    const fork = real.prefix(4);
    fork.add('eve');
    const a = auditor(real.operator_(), first);
    await a.observe(real.checkpoint(), 'operator');
    const error = await failure(a.observe(fork.checkpoint(), 'gossip from @bo'));
    first.close();

    const second = new SqliteLocalStore(path, { storageKey });
    const b = auditor(real.operator_(), second);
    expect(b.newestCheckpoint()).toBe(real.checkpoint());
    expect(b.logEvidence()).toMatchObject({ kind: 'fork', source: 'gossip from @bo' });
    const again = await failure(b.audit());
    expect(again.code).toBe('LOG_INCONSISTENT');
    expect(again.message).toBe(error.message);
    b.clearLogEvidence();
    expect(b.logEvidence()).toBeUndefined();
    second.close();
  });

  it('stays stopped when the stored evidence cannot be read', async () => {
    const store = new SqliteLocalStore(join(dir, 'k.db'), { storageKey: randomBytes(32) });
    store.saveLogEvidence({ v: 2 } as unknown as LogEvidence);
    expect((await failure(auditor(real.operator_(), store).audit())).code).toBe('LOG_INCONSISTENT');
    store.close();
  });
});
