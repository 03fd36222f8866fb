/**
 * The engine's inbox on its own (real Redis and BullMQ, real SQLite, the in-memory Operator): a
 * wake-up resolves once its fetch ended, wake-ups at once share one fetch per identity, one during
 * a fetch brings exactly one more, fetches of one identity never overlap, and a letter fetched
 * twice before it is shown is ledgered, shown and acknowledged once.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Deliveries } from '../../bridge/engine/delivery.js';
import { Inbox } from '../../bridge/engine/inbox.js';
import { Notices } from '../../bridge/engine/notices.js';
import type { Sessions } from '../../bridge/engine/sessions.js';
import { generateIdentityKeys, randomBytes } from '../../common/crypto/index.js';
import { toBase64url } from '../../common/wire/index.js';
import {
  deferred,
  engineWorld,
  useRedisServer,
  type EngineWorld,
} from '../support/engine-fixture.js';

const redis = useRedisServer();

let world: EngineWorld;
let sessions: Sessions;
let inbox: Inbox;
let deliveries: Deliveries;

beforeEach(() => {
  world = engineWorld(redis.server);
  sessions = world.sessions();
  const context = { connection: world.connection, prefix: world.prefix, logger: world.logger };
  const notices = new Notices({ sessions, surface: world.surface, logger: world.logger });
  deliveries = new Deliveries({ ...context, store: world.store, sessions, surface: world.surface });
  inbox = new Inbox({
    ...context,
    store: world.store,
    sessions,
    notices,
    deliver: (identity, delivery) => deliveries.enqueue(identity, delivery),
    now: () => Date.now(),
    pollIntervalMs: 3_600_000,
  });
  inbox.start(4);
});

afterEach(async () => {
  await inbox.close();
  await deliveries.close();
  sessions.closeAll();
  await world.close();
});

/** One fetch at the Operator, held until the test releases it. */
interface HeldFetch {
  readonly name: string;
  release(): void;
}

/**
 * Holds every fetch at the Operator until the test releases it; `next()` is the next fetch to
 * arrive, `count` how many arrived per name, `overlapped` whether one name's fetches overlapped.
 */
function holdFetches() {
  const arrived: HeldFetch[] = [];
  const takers: ((fetch: HeldFetch) => void)[] = [];
  const count = new Map<string, number>();
  const running = new Set<string>();
  let overlapped = false;
  world.bend.fetch = async (signer, limit) => {
    count.set(signer.name, (count.get(signer.name) ?? 0) + 1);
    if (running.has(signer.name)) overlapped = true;
    running.add(signer.name);
    const gate = deferred();
    const held = {
      name: signer.name,
      release: () => {
        gate.resolve();
      },
    };
    const taker = takers.shift();
    if (taker === undefined) arrived.push(held);
    else taker(held);
    await gate.promise;
    running.delete(signer.name);
    return world.operator.fetch(signer, limit);
  };
  return {
    next: (): Promise<HeldFetch> => {
      const held = arrived.shift();
      return held === undefined
        ? new Promise((resolve) => takers.push(resolve))
        : Promise.resolve(held);
    },
    count: (name: string) => count.get(name) ?? 0,
    get overlapped() {
      return overlapped;
    },
  };
}

/** Lets pending promise callbacks run. */
async function settle(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
}

describe('Inbox.wake', () => {
  it('resolves only once the fetch it asked for has ended', async () => {
    const ann = await world.hold('ann', sessions);
    const fetches = holdFetches();
    let woken = false;
    const waking = inbox.wake(ann).then(() => {
      woken = true;
    });
    const fetch = await fetches.next();
    await settle();
    expect(woken).toBe(false);
    fetch.release();
    await waking;
    expect(fetches.count('ann')).toBe(1);
  });

  it('makes one fetch per identity for wake-ups at once, and identities do not wait for each other', async () => {
    const ann = await world.hold('ann', sessions);
    const ben = await world.hold('ben', sessions);
    const fetches = holdFetches();
    const woken = [inbox.wake(ann), inbox.wake(ann), inbox.wake(ben), inbox.wake(ann)];
    // Both identities' fetches run at once: neither is released before both arrived.
    const first = await fetches.next();
    const second = await fetches.next();
    expect([first.name, second.name].sort()).toEqual(['ann', 'ben']);
    first.release();
    second.release();
    await Promise.all(woken);
    await world.idle('poll');
    expect([fetches.count('ann'), fetches.count('ben')]).toEqual([1, 1]);
  });

  it('after wake-ups during a fetch, fetches exactly once more, and they resolve after that one', async () => {
    const ann = await world.hold('ann', sessions);
    const fetches = holdFetches();
    const early = inbox.wake(ann);
    const first = await fetches.next();
    let lateWoken = false;
    const late = Promise.all([inbox.wake(ann), inbox.wake(ann)]).then(() => {
      lateWoken = true;
    });
    first.release();
    const again = await fetches.next();
    // The first wake-up was served by the first fetch; the later ones wait for the second.
    await early;
    await settle();
    expect(lateWoken).toBe(false);
    again.release();
    await late;
    await world.idle('poll');
    expect(fetches.count('ann')).toBe(2);
    expect(fetches.overlapped).toBe(false);
  });

  // The fetch ends and its wake-ups resolve while its job is still in Redis: a wake-up issued
  // right then must not fold into that finishing job (it would wait out the 30 s bound).
  it('fetches again for a wake-up issued right after the previous one resolved', async () => {
    const ann = await world.hold('ann', sessions);
    let fetched = 0;
    world.bend.fetch = (signer, limit) => {
      fetched++;
      return world.operator.fetch(signer, limit);
    };
    await inbox.wake(ann);
    void inbox.wake(ann);
    await vi.waitFor(
      () => {
        expect(fetched).toBe(2);
      },
      { timeout: 5_000 },
    );
  });

  it('resolves without fetching for an identity that has not registered', async () => {
    const id = toBase64url(randomBytes(16));
    world.store.createIdentity('test:new', {
      id,
      keys: generateIdentityKeys(),
      storageKey: randomBytes(32),
      chat: 'chat-new',
    });
    const fetches = holdFetches();
    await inbox.wake(id);
    expect(fetches.count('new')).toBe(0);
  });
});

describe('Inbox.fetchNow', () => {
  it('never runs two fetches of one identity at once: a second asked for meanwhile runs after', async () => {
    const ann = await world.hold('ann', sessions);
    const fetches = holdFetches();
    await Promise.all([inbox.fetchNow(ann), inbox.fetchNow(ann)]);
    const first = await fetches.next();
    // The second job was taken by a free worker slot and ended at once: the fetch was running.
    await vi.waitFor(async () => {
      expect(await world.queue('poll').getJobCounts('waiting', 'active')).toEqual({
        waiting: 0,
        active: 1,
      });
    });
    first.release();
    const second = await fetches.next();
    second.release();
    await world.idle('poll');
    expect(fetches.count('ann')).toBe(2);
    expect(fetches.overlapped).toBe(false);
  });

  it('drops the schedule of an identity forgotten meanwhile', async () => {
    const ann = await world.hold('ann', sessions);
    await inbox.schedule(ann);
    expect(await world.queue('poll').getJobSchedulers()).toHaveLength(1);
    sessions.destroy(ann);
    await inbox.fetchNow(ann);
    await world.idle('poll');
    expect(await world.queue('poll').getJobSchedulers()).toEqual([]);
  });
});

describe('a fetched letter', () => {
  it('is ledgered once however often it is fetched before it is shown, then shown and acknowledged once', async () => {
    const ann = await world.hold('ann', sessions);
    const ben = await world.hold('ben', sessions);
    await sessions.must(ben).client.send('ann', 'hello ann');

    await inbox.wake(ann);
    const [recorded] = world.store.pendingDeliveries(ann);
    expect(recorded).toMatchObject({ sender: 'ben', state: 'pending' });
    // Not shown yet, so the Operator still holds it, and the next fetch finds it again.
    expect(world.operator.mailboxes.get('ann')).toHaveLength(1);
    // (Its job gone first: see the failing test above on a wake-up right after another.)
    await world.idle('poll');
    await inbox.wake(ann);
    expect(world.store.pendingDeliveries(ann)).toEqual([recorded]);
    expect(world.surface.letters).toEqual([]);

    deliveries.start(4);
    await world.mailboxEmpty('ann');
    await world.idle('deliver');
    expect(world.surface.letters.map((l) => [l.chat, l.letter.from, l.letter.text])).toEqual([
      ['chat-ann', 'ben', 'hello ann'],
    ]);
    expect(world.store.pendingDeliveries(ann)).toEqual([]);

    await world.idle('poll');
    await inbox.wake(ann);
    await world.idle('deliver');
    expect(world.surface.letters).toHaveLength(1);
  });
});
