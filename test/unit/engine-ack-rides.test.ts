/**
 * A bot's acks riding on fetches (real Redis and BullMQ, real SQLite, the in-memory Operator): a
 * shown letter's ids go with the identity's next fetch, or alone after the delay when none comes;
 * the ledger forgets them only once the Operator deleted them; and a bot that dies before its ack
 * went fetches the letter again after the restart, shows it no second time, and acks it then.
 */
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deliveries } from '../../bridge/engine/delivery.js';
import { Inbox } from '../../bridge/engine/inbox.js';
import { Notices } from '../../bridge/engine/notices.js';
import { PendingAcks } from '../../bridge/engine/pending-acks.js';
import { signerOf, type Sessions } from '../../bridge/engine/sessions.js';
import type { FetchOptions } from '../../client/index.js';
import { toBase64url } from '../../common/wire/index.js';
import { engineWorld, useRedisServer, type EngineWorld } from '../support/engine-fixture.js';

const redis = useRedisServer();

let world: EngineWorld;
let sessions: Sessions;
/** One bot run: its inbox, deliveries and pending acks. */
interface Run {
  readonly inbox: Inbox;
  readonly deliveries: Deliveries;
  readonly acks: PendingAcks;
}
let runs: Run[];
let fetches: { name: string; ack: string[] }[];
let alone: { name: string; ids: string[] }[];
let ann: string;

function startRun(rideMs: number): Run {
  const context = { connection: world.connection, prefix: world.prefix, logger: world.logger };
  const acks = new PendingAcks({
    ackAlone: async (identity, ids) => {
      const session = sessions.get(identity);
      if (session !== undefined) await session.operator.ack(signerOf(session), ids);
    },
    logger: world.logger,
    rideMs,
  });
  const notices = new Notices({ sessions, surface: world.surface, logger: world.logger });
  const deliveries = new Deliveries({
    ...context,
    store: world.store,
    sessions,
    surface: world.surface,
    acks,
  });
  const inbox = new Inbox({
    ...context,
    store: world.store,
    sessions,
    notices,
    deliver: (identity, delivery) => deliveries.enqueue(identity, delivery),
    now: () => Date.now(),
    pollIntervalMs: 3_600_000,
    acks,
  });
  inbox.start(4);
  deliveries.start(4);
  const run = { inbox, deliveries, acks };
  runs.push(run);
  return run;
}

/** Stops a run's workers without sending what waits: as a SIGKILL would leave it. */
async function crash(run: Run): Promise<void> {
  await run.inbox.close();
  await run.deliveries.close();
}

beforeEach(async () => {
  world = engineWorld(redis.server);
  sessions = world.sessions();
  runs = [];
  fetches = [];
  alone = [];
  world.bend.fetch = (signer, options?: FetchOptions) => {
    fetches.push({ name: signer.name, ack: (options?.ack ?? []).map(toBase64url) });
    return world.operator.fetch(signer, options);
  };
  world.bend.ack = (signer, ids) => {
    alone.push({ name: signer.name, ids: ids.map(toBase64url) });
    return world.operator.ack(signer, ids);
  };
  ann = await world.hold('ann', sessions);
  await world.hold('ben', sessions);
});

afterEach(async () => {
  for (const run of runs) {
    await crash(run);
    await run.acks.close();
  }
  sessions.closeAll();
  await world.close();
});

/** Ben writes to ann; resolves to the letter's id at the Operator. */
async function benWrites(text: string): Promise<string> {
  const ben = world.store.identityNamed('ben')!;
  await sessions.must(ben).client.send('ann', text);
  const box = world.operator.mailboxes.get('ann') ?? [];
  return toBase64url(box[box.length - 1]!.id);
}

/** The Operator ids the delivery ledger still holds (read from its file, as a restart would). */
function ledgerOperatorIds(): string[] {
  const db = new Database(world.storePath, { readonly: true });
  try {
    const rows = db.prepare('SELECT operator_ids FROM deliveries').all() as {
      operator_ids: string;
    }[];
    return rows.flatMap((row) => JSON.parse(row.operator_ids) as string[]);
  } finally {
    db.close();
  }
}

const shown = () => world.surface.letters.map((l) => l.letter.text);
const waitingAtOperator = () =>
  (world.operator.mailboxes.get('ann') ?? []).map((l) => toBase64url(l.id));

describe('acks riding on fetches', () => {
  it('sends a shown letter’s ids with the identity’s next fetch, not alone', async () => {
    const run = startRun(60_000);
    const first = await benWrites('one');
    await run.inbox.wake(ann);
    await vi.waitFor(() => {
      expect(run.acks.waiting(ann)).toBe(1);
    });
    expect(shown()).toEqual(['one']);
    // Shown and marked so, but still at the Operator until a fetch carries the ack.
    expect(waitingAtOperator()).toEqual([first]);
    expect(world.store.pendingDeliveries(ann)).toEqual([]);
    expect(ledgerOperatorIds()).toEqual([first]);

    const second = await benWrites('two');
    await run.inbox.wake(ann);
    expect(fetches.at(-1)).toEqual({ name: 'ann', ack: [first] });
    await vi.waitFor(() => {
      expect(shown()).toEqual(['one', 'two']);
      expect(run.acks.waiting(ann)).toBe(1);
    });
    expect(waitingAtOperator()).toEqual([second]);
    expect(ledgerOperatorIds()).toEqual([second]);
    expect(alone).toEqual([]);
  });

  it('sends them alone when no fetch comes within the delay, then forgets them in the ledger', async () => {
    const run = startRun(200);
    const id = await benWrites('alone');
    await run.inbox.wake(ann);
    await world.mailboxEmpty('ann');
    expect(alone).toEqual([{ name: 'ann', ids: [id] }]);
    expect(shown()).toEqual(['alone']);
    await vi.waitFor(() => {
      expect(ledgerOperatorIds()).toEqual([]);
    });
  });

  it('a bot that dies before its ack went shows the letter once and acks it after the restart', async () => {
    const first = startRun(60_000);
    const id = await benWrites('kept through a crash');
    await first.inbox.wake(ann);
    await vi.waitFor(() => {
      expect(first.acks.waiting(ann)).toBe(1);
    });
    await crash(first);
    expect(waitingAtOperator()).toEqual([id]);
    expect(ledgerOperatorIds()).toEqual([id]);

    const second = startRun(100);
    await second.inbox.wake(ann);
    await world.mailboxEmpty('ann');
    await world.idle('deliver');
    expect(shown()).toEqual(['kept through a crash']);
    expect(alone).toEqual([{ name: 'ann', ids: [id] }]);
  });
});
