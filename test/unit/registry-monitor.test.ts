/**
 * The registry monitor against logs built in memory and signed with an Operator key: honest logs,
 * a second leaf for a name, forks between two scans, entries that do not rebuild the signed root.
 */
import { describe, expect, it } from 'vitest';
import { RegistryMonitor, type LogReader } from '../../client/transparency/registry-monitor.js';
import { generateIdentityKeys, type IdentityKeys } from '../../common/crypto/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { signReceipt } from '../../common/wire/index.js';
import { SignedLog, forgeReceipt } from '../support/lying-operator.js';

const operator = generateIdentityKeys();

/** A komrade and its receipt. */
function komrade(name: string, options: { ratchet?: boolean; keys?: IdentityKeys } = {}) {
  const keys = options.keys ?? generateIdentityKeys();
  const ratchetKey = options.ratchet === false ? null : Uint8Array.of(0x05, ...keys.boxPublic);
  const receipt = forgeReceipt(operator, name, { keys, ratchetKey, registeredAt: 1_000 });
  const watched = {
    name,
    signKey: keys.signPublic,
    boxKey: keys.boxPublic,
    ratchetKey: Uint8Array.of(0x05, ...keys.boxPublic),
    keyHolder: 'self',
  };
  return { keys, receipt, watched };
}

/** A reader over whatever log `current()` is, counting the entries it hands out. */
function readerOf(current: () => SignedLog) {
  const calls = { entries: 0, leaves: 0, consistency: 0 };
  const reader: LogReader = {
    logCheckpoint: () => Promise.resolve(current().checkpoint()),
    logConsistency: (from, to) => {
      calls.consistency += 1;
      return Promise.resolve(current().consistency(from, to));
    },
    logEntries: (start, end) => {
      calls.entries += 1;
      const slice = current().slice(start, end);
      calls.leaves += slice.length;
      return Promise.resolve(slice);
    },
  };
  return { reader, calls };
}

const names = (n: number, prefix = 'k') =>
  Array.from({ length: n }, (_, i) => komrade(`${prefix}${String(i).padStart(3, '0')}`).receipt);

describe('RegistryMonitor', () => {
  it('rebuilds an honest log page by page, with progress, and finds nothing', async () => {
    const me = komrade('alice');
    const log = new SignedLog(operator, [...names(12), me.receipt, ...names(8, 'z')]);
    const { reader, calls } = readerOf(() => log);
    const monitor = new RegistryMonitor({
      operator: reader,
      operatorSignKey: operator.signPublic,
      pageSize: 5,
    });
    const progress: number[] = [];
    const report = await monitor.scan([me.watched], {
      onProgress: (p) => progress.push(p.scanned),
    });
    expect(report.problems).toEqual([]);
    expect(report.size).toBe(21);
    expect(report.downloaded).toBe(21);
    expect(report.checkpoint).toBe(log.checkpoint());
    expect(progress).toEqual([0, 5, 10, 15, 20, 21]);
    expect(calls.entries).toBe(5);
  });

  it('downloads only the new leaves on a second scan, after checking consistency', async () => {
    let log = new SignedLog(operator, names(10));
    const { reader, calls } = readerOf(() => log);
    const monitor = new RegistryMonitor({ operator: reader, operatorSignKey: operator.signPublic });
    await monitor.scan();
    log = new SignedLog(operator, [...log.entries, ...names(3, 'n')]);
    const report = await monitor.scan();
    expect(report).toMatchObject({ size: 13, downloaded: 3, problems: [] });
    expect(calls).toEqual({ entries: 2, leaves: 13, consistency: 1 });
    // Nothing new: nothing downloaded, nothing asked but the checkpoint.
    expect((await monitor.scan()).downloaded).toBe(0);
    expect(calls.entries).toBe(2);
  });

  it('accepts the one allowed key update and flags any other second leaf of a name', async () => {
    const old = komrade('olga', { ratchet: false });
    const update = signReceipt(
      { ...old.receipt, ratchetKey: Uint8Array.of(0x05, ...old.keys.boxPublic) },
      operator.signSecret,
    );
    const victim = komrade('victor');
    const swapped = forgeReceipt(operator, 'victor', { registeredAt: 2_000 });
    const log = new SignedLog(operator, [old.receipt, victim.receipt, update, swapped]);
    const monitor = new RegistryMonitor({
      operator: readerOf(() => log).reader,
      operatorSignKey: operator.signPublic,
    });
    const report = await monitor.scan([old.watched, victim.watched]);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'second-leaf', name: 'victor', leaves: [1, 3] }),
      expect.objectContaining({ kind: 'not-your-keys', name: 'victor', leaves: [1, 3] }),
    ]);
    // No secret in a finding: only names, indexes and reasons.
    expect(JSON.stringify(report.problems)).not.toContain(
      Buffer.from(victim.keys.signSecret).toString('base64'),
    );
  });

  it('flags a receipt the Operator key did not sign, a missing identity and swapped keys', async () => {
    const stranger = generateIdentityKeys();
    const me = komrade('alice');
    const bad = forgeReceipt(stranger, 'mallory');
    const log = new SignedLog(operator, [komrade('bob').receipt, bad]);
    const monitor = new RegistryMonitor({
      operator: readerOf(() => log).reader,
      operatorSignKey: operator.signPublic,
    });
    const pending = { ...komrade('newbie').watched, leafIndex: 2 };
    const report = await monitor.scan([me.watched, pending]);
    expect(report.problems).toEqual([
      expect.objectContaining({ kind: 'bad-receipt', name: 'mallory', leaves: [1] }),
      expect.objectContaining({ kind: 'missing', name: 'alice', leaves: [] }),
    ]);
    const other = komrade('bob');
    const swapped = await monitor.scan([{ ...other.watched }]);
    expect(swapped.problems.map((p) => p.kind)).toEqual(['bad-receipt', 'not-your-keys']);
  });

  it('stops with evidence when the entries do not rebuild the signed root, and stays stopped', async () => {
    const log = new SignedLog(operator, names(6));
    const tampered = new SignedLog(operator, [...log.entries.slice(0, 5), komrade('evil').receipt]);
    const { reader, calls } = readerOf(() => log);
    const lying: LogReader = {
      ...reader,
      logEntries: (s, e) => Promise.resolve(tampered.slice(s, e)),
    };
    const monitor = new RegistryMonitor({ operator: lying, operatorSignKey: operator.signPublic });
    const report = await monitor.scan();
    expect(report.problems).toEqual([expect.objectContaining({ kind: 'log-inconsistent' })]);
    expect(report.evidence).toMatchObject({ next: log.checkpoint(), proof: [] });
    expect(report.checkpoint).toBeUndefined();
    const again = await monitor.scan();
    expect(again.evidence).toEqual(report.evidence);
    expect(calls.entries).toBe(0);
  });

  it('catches a fork of the same size and a fork at a larger size', async () => {
    const entries = names(9);
    const real = new SignedLog(operator, entries);
    const forged = [...entries];
    forged[4] = forgeReceipt(operator, entries[4]?.name ?? 'x');
    for (const [fork, size] of [
      [new SignedLog(operator, forged), 9],
      [new SignedLog(operator, [...forged, ...names(4, 'f')]), 13],
    ] as const) {
      let current = real;
      const monitor = new RegistryMonitor({
        operator: readerOf(() => current).reader,
        operatorSignKey: operator.signPublic,
      });
      await monitor.scan();
      current = fork;
      const report = await monitor.scan();
      expect(report.size).toBe(9);
      expect(report.checkpoint).toBe(real.checkpoint());
      expect(report.evidence).toMatchObject({
        previous: real.checkpoint(),
        next: fork.checkpoint(),
      });
      expect(report.evidence?.proof.length ?? 0).toBe(
        size === 9 ? 0 : fork.consistency(9, 13).length,
      );
      expect(report.problems[0]?.kind).toBe('log-inconsistent');
    }
  });

  it('takes an older checkpoint proven a prefix of the scanned one as nothing new', async () => {
    const entries = names(8);
    let current = new SignedLog(operator, entries);
    const monitor = new RegistryMonitor({
      operator: readerOf(() => current).reader,
      operatorSignKey: operator.signPublic,
    });
    await monitor.scan();
    const full = current;
    current = new SignedLog(operator, entries.slice(0, 5));
    // The older log cannot prove 5 → 8 itself: the full one does.
    current.consistency = (from, to) => full.consistency(from, to);
    const report = await monitor.scan();
    expect(report).toMatchObject({ size: 8, downloaded: 0, problems: [] });
  });

  it('resumes a scan a failure cut short, and starts from an empty log', async () => {
    let log = new SignedLog(operator, []);
    const { reader } = readerOf(() => log);
    let failAt: number | undefined;
    const flaky: LogReader = {
      ...reader,
      logEntries: (start, end) =>
        start === failAt
          ? Promise.reject(Object.assign(new Error('down'), { code: 'OPERATOR_UNREACHABLE' }))
          : reader.logEntries(start, end),
    };
    const monitor = new RegistryMonitor({
      operator: flaky,
      operatorSignKey: operator.signPublic,
      pageSize: 4,
    });
    expect(await monitor.scan()).toMatchObject({ size: 0, problems: [] });
    log = new SignedLog(operator, names(10));
    failAt = 8;
    await expect(monitor.scan()).rejects.toThrow('down');
    expect(monitor.size).toBe(8);
    // The Operator now shows an older checkpoint than what was read: its prefix is checked.
    const older = log;
    log = new SignedLog(operator, older.entries.slice(0, 6));
    log.consistency = (from, to) => older.consistency(from, to);
    expect(await monitor.scan()).toMatchObject({ size: 6, problems: [] });
    log = older;
    failAt = undefined;
    expect(await monitor.scan()).toMatchObject({ size: 10, problems: [] });
  });

  it('refuses a checkpoint another key signed, and an empty page', async () => {
    const other = new SignedLog(generateIdentityKeys(), names(2));
    const monitor = new RegistryMonitor({
      operator: readerOf(() => other).reader,
      operatorSignKey: operator.signPublic,
    });
    await expect(monitor.scan()).rejects.toSatisfy((e) => isKomradeError(e, 'BAD_SIGNATURE'));
    const log = new SignedLog(operator, names(2));
    const empty: LogReader = {
      ...readerOf(() => log).reader,
      logEntries: () => Promise.resolve([]),
    };
    const stuck = new RegistryMonitor({ operator: empty, operatorSignKey: operator.signPublic });
    await expect(stuck.scan()).rejects.toSatisfy((e) => isKomradeError(e, 'OPERATOR_ERROR'));
    expect(
      () =>
        new RegistryMonitor({
          operator: empty,
          operatorSignKey: operator.signPublic,
          pageSize: 1001,
        }),
    ).toThrow();
  });
});
