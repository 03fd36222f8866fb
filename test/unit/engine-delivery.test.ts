/**
 * The engine's deliveries on their own (real Redis and BullMQ, real SQLite, the in-memory
 * Operator, a recording chat surface): a letter in the ledger is shown, marked shown, and only
 * then acknowledged at the Operator; a chat that fails is retried and the letter shown once; a
 * letter shown is never shown again; a blocked sender's or a damaged letter is not shown but
 * still acknowledged; only what is pending is queued again.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  encodeCollectiveContent,
  encodeLetterContent,
} from '../../bridge/engine/collective-content.js';
import { Deliveries } from '../../bridge/engine/delivery.js';
import type { Sessions } from '../../bridge/engine/sessions.js';
import { randomBytes } from '../../common/crypto/index.js';
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
let deliveries: Deliveries;
let ann: string;

beforeEach(async () => {
  world = engineWorld(redis.server);
  sessions = world.sessions();
  deliveries = new Deliveries({
    connection: world.connection,
    prefix: world.prefix,
    logger: world.logger,
    store: world.store,
    sessions,
    surface: world.surface,
  });
  ann = await world.hold('ann', sessions);
  await world.hold('ben', sessions);
});

afterEach(async () => {
  await deliveries.close();
  sessions.closeAll();
  await world.close();
});

/**
 * Ben sends ann a letter (it waits at the Operator), and the ledger records it as fetched, as the
 * inbox does: `content` as the inbox encodes it, unless given.
 * @returns the delivery's id
 */
async function fetched(text: string, content?: Uint8Array): Promise<string> {
  const ben = world.store.identityNamed('ben')!;
  await sessions.must(ben).client.send('ann', text);
  const copies = world.operator.mailboxes.get('ann') ?? [];
  const copy = copies[copies.length - 1]!;
  const delivery = world.store.recordFetched(
    ann,
    'ben',
    toBase64url(randomBytes(16)),
    toBase64url(copy.id),
    {
      collective: null,
      content:
        content ??
        encodeLetterContent({
          from: 'ben',
          to: 'ann',
          sentAt: 1,
          text,
          firstContact: true,
          senderKeyHolder: 'telegram',
          post: false,
        }),
    },
  );
  return delivery.id;
}

const shownTexts = () => world.surface.letters.map((l) => [l.chat, l.letter.text]);

describe('Deliveries', () => {
  it('shows a letter, marks it shown, and only then acknowledges it at the Operator', async () => {
    const id = await fetched('hello');
    const gate = deferred();
    world.surface.gate = gate.promise;
    deliveries.start(4);
    await deliveries.enqueue(ann, id);
    await vi.waitFor(() => {
      expect(world.surface.calls).toBe(1);
    });
    // The chat has not answered yet: nothing is marked, nothing acknowledged.
    expect(world.store.delivery(id)?.state).toBe('pending');
    expect(world.operator.mailboxes.get('ann')).toHaveLength(1);
    gate.resolve();
    await world.mailboxEmpty('ann');
    expect(world.store.delivery(id)).toMatchObject({
      state: 'delivered',
      operatorIds: [],
      surfaceRef: expect.stringMatching(/^ref-/) as unknown,
    });
    expect(shownTexts()).toEqual([['chat-ann', 'hello']]);
  });

  it('retries a chat that failed, and shows the letter once', async () => {
    const id = await fetched('again');
    world.surface.fail = 2;
    deliveries.start(4);
    await deliveries.enqueue(ann, id);
    await world.mailboxEmpty('ann');
    expect(world.surface.calls).toBe(3);
    expect(shownTexts()).toEqual([['chat-ann', 'again']]);
  });

  it('never shows a letter twice: queued twice at once, or again once shown', async () => {
    const id = await fetched('once');
    await Promise.all([deliveries.enqueue(ann, id), deliveries.enqueue(ann, id)]);
    deliveries.start(4);
    await world.mailboxEmpty('ann');
    await world.idle('deliver');
    await deliveries.enqueue(ann, id);
    await world.idle('deliver');
    expect(shownTexts()).toEqual([['chat-ann', 'once']]);
  });

  it("does not show a blocked sender's letter nor a damaged one, and acknowledges both", async () => {
    const blocked = await fetched('from a blocked sender');
    const damaged = await fetched('damaged', Uint8Array.from([1, 2, 3]));
    sessions.must(ann).client.block('ben');
    deliveries.start(4);
    await deliveries.enqueue(ann, blocked);
    await deliveries.enqueue(ann, damaged);
    await world.mailboxEmpty('ann');
    expect(world.surface.calls).toBe(0);
    expect(world.store.delivery(blocked)).toMatchObject({ state: 'delivered', surfaceRef: null });
    expect(world.store.delivery(damaged)).toMatchObject({ state: 'delivered', surfaceRef: null });
    expect(world.logger.lines.map((l) => l.event)).toContain('bridge.letter_undecodable');
  });

  it('queues again only what the ledger holds as not shown, collective messages included', async () => {
    const shown = await fetched('shown before');
    world.store.markDelivered(shown, 'ref-old');
    const pending = await fetched('still pending');
    const message = world.store.recordFetched(
      ann,
      'ben',
      'm'.repeat(22),
      toBase64url(randomBytes(16)),
      {
        collective: 'club',
        content: encodeCollectiveContent({
          collective: 'club',
          from: 'ben',
          senderKeyHolder: 'telegram',
          sentAt: 2,
          text: 'to the club',
          id: 'm'.repeat(22),
        }),
      },
    );
    await deliveries.requeuePending();
    deliveries.start(4);
    await world.idle('deliver');
    expect(shownTexts()).toEqual([['chat-ann', 'still pending']]);
    expect(
      world.surface.messages.map((m) => [m.chat, m.message.collective, m.message.text]),
    ).toEqual([['chat-ann', 'club', 'to the club']]);
    expect(world.store.delivery(pending)?.state).toBe('delivered');
    expect(world.store.delivery(message.id)?.state).toBe('delivered');
  });
});
