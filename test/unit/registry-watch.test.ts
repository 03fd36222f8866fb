/**
 * The bot as a monitor: one monitor over every identity it holds, `/verifyme` for one of them,
 * and what it logs (kinds and leaf numbers, never names or keys), against the in-memory Operator
 * whose log a test can extend with a forged leaf.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { RegistryWatch } from '../../bridge/engine/registry-watch.js';
import { IDENTITY_COMMANDS, plainText, render, textOf, type Surface } from '../../bridge/index.js';
import { registryTrust } from '../../client/index.js';
import { signKeysFromSeed } from '../../common/crypto/index.js';
import {
  leafHash,
  noteSigner,
  noteVerifier,
  openCheckpoint,
} from '../../common/transparency/index.js';
import { receiptLeaf } from '../../common/wire/index.js';
import { engineWorld, type EngineWorld } from '../support/engine-fixture.js';
import { SignedLog, forgeReceipt } from '../support/lying-operator.js';

let world: EngineWorld;
beforeEach(() => {
  world = engineWorld();
});
afterEach(async () => {
  await world.close();
});

const surface: Surface = {
  style: plainText,
  syntax: 'words',
  channelLinks: false,
  commands: [...IDENTITY_COMMANDS],
  textLimit: 4096,
  about: { greeting: '', help: '', footer: '' },
};

function watchOf(sessions: ReturnType<EngineWorld['sessions']>) {
  return new RegistryWatch({
    store: world.store,
    sessions,
    operatorFor: world.operatorFor,
    logger: world.logger,
    everyMs: 0,
  });
}

describe('RegistryWatch', () => {
  it('answers /verifyme with an ok verdict while the log holds only the keys held here', async () => {
    const sessions = world.sessions();
    const ana = await world.hold('ana', sessions);
    await world.hold('ben', sessions);
    const verdict = await watchOf(sessions).verify(sessions.must(ana));
    expect(verdict).toEqual({ name: 'ana', verdict: 'ok', size: 2, mine: [], others: 0 });
    const text = render(textOf({ kind: 'verified', verdict }, surface), surface);
    expect(text).toContain('Your keys are the only ones for @ana');
    expect(text).toContain('(2 entries)');
  });

  it('finds a forged second leaf for a held name, says so to its user, and logs no name', async () => {
    const sessions = world.sessions();
    const ana = await world.hold('ana', sessions);
    const ben = await world.hold('ben', sessions);
    const watch = watchOf(sessions);
    expect((await watch.scan())?.problems).toEqual([]);
    const forged = forgeReceipt(world.operator.keys, 'ben');
    world.operator.log.append(leafHash(receiptLeaf(forged)));
    world.operator.logReceipts.push(forged);
    const report = await watch.scan();
    expect(report?.problems.map((p) => [p.kind, p.name])).toEqual([
      ['second-leaf', 'ben'],
      ['not-your-keys', 'ben'],
    ]);
    const benVerdict = await watch.verify(sessions.must(ben));
    expect(benVerdict).toMatchObject({ verdict: 'problems', size: 3, others: 0 });
    expect(benVerdict.mine.map((p) => p.kind)).toEqual(['second-leaf', 'not-your-keys']);
    const anaVerdict = await watch.verify(sessions.must(ana));
    expect(anaVerdict).toMatchObject({ verdict: 'problems', mine: [], others: 2 });
    const said = render(textOf({ kind: 'verified', verdict: benVerdict }, surface), surface);
    expect(said).toContain(
      'PROBLEM: the Operator’s registry log does not hold only your keys for @ben',
    );
    const problems = world.logger.lines.filter((l) => l.event === 'registry.problem');
    // Each problem logged once, though three scans saw it.
    expect(problems.map((l) => l.fields.kind)).toEqual(['second-leaf', 'not-your-keys']);
    expect(JSON.stringify(world.logger.lines)).not.toMatch(/\bben\b|\bana\b/);
  });

  it('checks at start and then on its interval, until closed', async () => {
    const sessions = world.sessions();
    await world.hold('ana', sessions);
    const watch = new RegistryWatch({
      store: world.store,
      sessions,
      operatorFor: world.operatorFor,
      logger: world.logger,
      everyMs: 30,
    });
    watch.start();
    const scans = () => world.logger.lines.filter((l) => l.event === 'registry.scanned').length;
    await vi.waitFor(() => {
      expect(scans()).toBeGreaterThanOrEqual(3);
    });
    watch.close();
    const after = scans();
    await new Promise((r) => setTimeout(r, 100));
    expect(scans()).toBeLessThanOrEqual(after + 1);
  });

  it('answers a stopped identity with the inconsistent verdict', async () => {
    const sessions = world.sessions();
    const ana = await world.hold('ana', sessions);
    const session = sessions.must(ana);
    await session.client.auditLog();
    // The Operator rewrites history: the same size, another root, signed with its key.
    const fork = new SignedLog(world.operator.keys, [forgeReceipt(world.operator.keys, 'ana')]);
    world.bend.logCheckpoint = () => Promise.resolve(fork.checkpoint());
    const verdict = await watchOf(sessions).verify(session);
    expect(verdict.verdict).toBe('inconsistent');
    const said = render(textOf({ kind: 'verified', verdict }, surface), surface);
    expect(said).toContain('STOP');
  });

  it('cosigns each checkpoint it verified as a witness, and never a fork', async () => {
    const sessions = world.sessions();
    await world.hold('ana', sessions);
    const keys = signKeysFromSeed(new Uint8Array(32).fill(7));
    const name = 'komrade.witness/test';
    const watch = new RegistryWatch({
      store: world.store,
      sessions,
      operatorFor: world.operatorFor,
      logger: world.logger,
      everyMs: 0,
      witness: noteSigner(name, keys),
    });
    const trust = {
      ...registryTrust(world.operator.keys.signPublic),
      witnesses: [noteVerifier(name, keys.signPublic)],
    };
    const witnessed = () => {
      const opened = openCheckpoint(watch.cosigned() ?? '', trust);
      if (!opened.ok) throw opened.error;
      return { size: opened.value.checkpoint.size, witnesses: opened.value.witnesses };
    };
    expect(watch.cosigned()).toBeUndefined();
    await watch.scan();
    expect(witnessed()).toEqual({ size: 1, witnesses: [name] });
    await world.hold('ben', sessions);
    await watch.scan();
    expect(witnessed()).toEqual({ size: 2, witnesses: [name] });

    // The Operator rewrites history at the same size: the scan stops, nothing is cosigned.
    const fork = new SignedLog(world.operator.keys, [
      forgeReceipt(world.operator.keys, 'ana'),
      forgeReceipt(world.operator.keys, 'ben'),
    ]);
    world.bend.logCheckpoint = () => Promise.resolve(fork.checkpoint());
    const report = await watch.scan();
    expect(report?.evidence).toBeDefined();
    expect(witnessed()).toEqual({ size: 2, witnesses: [name] });
    expect(world.logger.lines.filter((l) => l.event === 'registry.cosigned')).toHaveLength(2);
  });
});
