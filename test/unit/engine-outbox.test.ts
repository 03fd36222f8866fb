/**
 * The engine's outbox on its own (real Redis and BullMQ, real SQLite, the in-memory Operator): a
 * send is on disk before Redis hears of it, a row whose job was lost is queued again once, a
 * failure is given up on at once or retried as JOB_FAILURES says, and sends queued by older
 * versions are moved into the outbox.
 */
import { Queue } from 'bullmq';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SqliteBridgeStore, JOB_FAILURES, queueNames } from '../../bridge/index.js';
import { Notices } from '../../bridge/engine/notices.js';
import { BRIDGE_FAN_OUT_WINDOW, Outbox } from '../../bridge/engine/outbox.js';
import type { Sessions } from '../../bridge/engine/sessions.js';
import { outboxJobId } from '../../bridge/queue/jobs.js';
import { KomradeError, type ErrorCode } from '../../common/errors/index.js';
import { engineWorld, useRedisServer, type EngineWorld } from '../support/engine-fixture.js';

const redis = useRedisServer();

let world: EngineWorld;
let sessions: Sessions;
let outbox: Outbox;
/** The recipients of each send the Operator took, as `onSent` was told. */
let sent: string[][];

beforeEach(() => {
  world = engineWorld(redis.server);
  sessions = world.sessions();
  sent = [];
  outbox = new Outbox({
    connection: world.connection,
    prefix: world.prefix,
    logger: world.logger,
    store: world.store,
    codec: world.codec,
    sessions,
    notices: new Notices({ sessions, surface: world.surface, logger: world.logger }),
    onSent: (names) => {
      sent.push([...names]);
      return Promise.resolve();
    },
  });
});

afterEach(async () => {
  await outbox.close();
  sessions.closeAll();
  await world.close();
});

/** Ann and ben registered; ann's letter to ben sealed by her client, not yet queued. */
async function annToBen(text = 'hello ben') {
  const ann = await world.hold('ann', sessions);
  await world.hold('ben', sessions);
  const { to, sealed } = await sessions.must(ann).client.prepareLetter('ben', text);
  return { ann, entry: { to, sealed } };
}

async function outboxEmpty(): Promise<void> {
  await vi.waitFor(
    () => {
      expect(world.store.outboxRows()).toEqual([]);
    },
    { timeout: 20_000, interval: 50 },
  );
}

describe('the outbox', () => {
  it('keeps a send on disk before Redis hears of it: with Redis down, the command is answered and the job follows', async () => {
    const { ann, entry } = await annToBen();
    outbox.start(2);
    await redis.server.stop();
    let added;
    try {
      added = await outbox.queueLetters(ann, [entry]);
      // On disk: another connection to the same file sees the row.
      const reader = new SqliteBridgeStore(world.storePath, world.storeKeys);
      try {
        expect(reader.outboxRows().map((r) => r.identity)).toEqual([ann]);
      } finally {
        reader.close();
      }
      expect(world.handedOver).toEqual([]);
    } finally {
      await redis.server.start();
    }
    expect(added.added).toBe(true);
    await outboxEmpty();
    expect(world.handedOver).toEqual([entry]);
    expect(world.operator.mailboxes.get('ben')).toHaveLength(1);
    expect(sent).toEqual([['ben']]);
  });

  it('queues a fan-out as one job per copy, each with its own random delay over the window', async () => {
    const ann = await world.hold('ann', sessions);
    const names = ['ben', 'cat', 'dan', 'eve'];
    for (const name of names) await world.hold(name, sessions);
    const client = sessions.must(ann).client;
    const entries = [];
    for (const name of names) {
      const { to, sealed } = await client.prepareLetter(name, 'one copy each');
      entries.push({ to, sealed });
    }
    const added = await outbox.queueLetters(ann, entries);
    if (!added.added) throw new Error('not added');
    const queue = world.queue('outbox');
    const jobs = await Promise.all(added.rows.map((row) => queue.getJob(outboxJobId(row.id))));
    const delays = jobs.map((job) => job?.opts.delay ?? -1);
    expect(delays.every((d) => d >= 0 && d <= BRIDGE_FAN_OUT_WINDOW.maxMs)).toBe(true);
    expect(Math.max(...delays)).toBeLessThanOrEqual(
      Math.min(BRIDGE_FAN_OUT_WINDOW.perCopyMs * names.length, BRIDGE_FAN_OUT_WINDOW.maxMs),
    );
    expect(new Set(delays).size).toBeGreaterThan(1);
    expect(await queue.getDelayedCount()).toBeGreaterThanOrEqual(names.length - 1);
    // A single letter is not held back.
    const entry = entries[0]!;
    const single = await outbox.queueLetters(ann, [entry]);
    if (!single.added) throw new Error('not added');
    expect((await queue.getJob(outboxJobId(single.rows[0]!.id)))?.opts.delay ?? 0).toBe(0);
  });

  it('queues a row whose job was lost again, once however often asked, and sends it once', async () => {
    const { ann, entry } = await annToBen();
    const added = await outbox.queueLetters(ann, [entry]);
    if (!added.added) throw new Error('not added');
    const row = added.rows[0]!.id;
    const queue = world.queue('outbox');
    expect((await queue.getJob(outboxJobId(row)))?.data).toEqual({ identity: ann, row });
    // Redis loses the job; the row stays.
    await queue.obliterate({ force: true });
    expect(await queue.getJob(outboxJobId(row))).toBeUndefined();

    expect(await outbox.requeueAll()).toBe(1);
    expect(await outbox.requeueAll()).toBe(1);
    expect(await queue.getWaitingCount()).toBe(1);
    expect((await queue.getJob(outboxJobId(row)))?.data).toEqual({ identity: ann, row });

    outbox.start(2);
    await outboxEmpty();
    await world.idle('outbox');
    expect(world.handedOver).toEqual([entry]);
    expect(sent).toEqual([['ben']]);
  });

  it.each<ErrorCode>(['BAD_SIGNATURE', 'NAME_UNKNOWN', 'OPERATOR_UNREACHABLE', 'MAILBOX_FULL'])(
    'when the Operator refuses a send with %s, does what JOB_FAILURES says',
    async (code) => {
      const { ann, entry } = await annToBen();
      // The first attempt is refused; a second one would be taken.
      world.bend.sendAnonymously = () => {
        delete world.bend.sendAnonymously;
        return Promise.reject(new KomradeError(code, 'refused'));
      };
      outbox.start(2);
      await outbox.queueLetters(ann, [entry]);
      await outboxEmpty();
      await world.idle('outbox');
      if (JOB_FAILURES[code] === 'permanent') {
        expect(world.handedOver).toHaveLength(1);
        expect(world.operator.mailboxes.get('ben') ?? []).toEqual([]);
        expect(world.surface.notices).toEqual([
          { chat: 'chat-ann', notice: { kind: 'send-failed', to: 'ben', code } },
        ]);
        expect(sent).toEqual([]);
      } else {
        expect(world.handedOver).toEqual([entry, entry]);
        expect(world.operator.mailboxes.get('ben')).toHaveLength(1);
        expect(world.surface.notices).toEqual([]);
        expect(sent).toEqual([['ben']]);
      }
    },
  );

  it('writes the rows and the event they answer together, and a replayed event writes nothing', async () => {
    const { ann, entry } = await annToBen();
    const handled = { event: 'telegram:1:9', result: '"first"' };
    const first = await outbox.queueLetters(ann, [entry], handled);
    const again = await outbox.queueLetters(ann, [entry], { ...handled, result: '"second"' });
    expect(first.added).toBe(true);
    expect(again).toMatchObject({
      added: false,
      handled: { event: handled.event, result: '"first"' },
    });
    expect(world.store.outboxRows()).toHaveLength(1);
    expect(await world.queue('outbox').getWaitingCount()).toBe(1);
  });

  it('moves sends an older version kept only in Redis into the outbox, then sends them', async () => {
    const { ann, entry } = await annToBen();
    const legacy = new Queue(queueNames(world.prefix).outbox, {
      connection: world.connection,
      prefix: world.prefix,
    });
    try {
      await legacy.add('outbox', { identity: ann, envelope: world.codec.encode(ann, entry) });
      await legacy.add('outbox', { identity: 'not an identity id' });
    } finally {
      await legacy.close();
    }
    expect(await outbox.adoptLegacyJobs()).toBe(1);
    expect(world.store.outboxRows().map((r) => [r.identity, r.kind])).toEqual([[ann, 'letter']]);
    await outbox.obliterate();
    await outbox.requeueAll();
    outbox.start(2);
    await outboxEmpty();
    expect(world.handedOver).toEqual([entry]);
  });
});
