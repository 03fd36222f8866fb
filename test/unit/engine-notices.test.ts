/**
 * The engine's courtesy notices on their own (real SQLite, the in-memory Operator, a recording
 * chat surface): a notice never fails its caller, goes only to identities held here (not the one
 * acting), an admission is told once (and again later if the chat did not take it), and closing
 * waits for the notices still running.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Notices } from '../../bridge/engine/notices.js';
import type { Sessions } from '../../bridge/engine/sessions.js';
import { deferred, engineWorld, type EngineWorld } from '../support/engine-fixture.js';

let world: EngineWorld;
let sessions: Sessions;
let notices: Notices;

beforeEach(() => {
  // Notices use no queue: no Redis.
  world = engineWorld();
  sessions = world.sessions();
  notices = new Notices({ sessions, surface: world.surface, logger: world.logger });
});

afterEach(async () => {
  await notices.close();
  sessions.closeAll();
  await world.close();
});

const shown = () => world.surface.notices.map((n) => [n.chat, n.notice.kind]);
const warnings = () =>
  world.logger.lines.filter((l) => l.level === 'warn').map((l) => [l.event, l.fields.code]);

describe('Notices', () => {
  it('tells a chat and says whether it took the notice; a refusal is logged, never thrown', async () => {
    const ann = sessions.must(await world.hold('ann', sessions));
    expect(await notices.tell(ann, { kind: 'new-follower', name: 'ben' })).toBe(true);
    world.surface.fail = 1;
    expect(await notices.tell(ann, { kind: 'new-follower', name: 'cat' })).toBe(false);
    expect(world.surface.notices).toEqual([
      { chat: 'chat-ann', notice: { kind: 'new-follower', name: 'ben' } },
    ]);
    expect(warnings()).toEqual([['bridge.notify_failed', 'PLATFORM_DOWN']]);
  });

  it('tells the named identities held here, except the one acting, and skips the others', async () => {
    const ann = await world.hold('ann', sessions);
    await world.hold('ben', sessions);
    await world.hold('cat', sessions);
    await notices.tellHeld(['ann', 'ben', 'zed', 'cat'], ann, {
      kind: 'collective-join-request',
      collective: 'club',
      candidate: 'dan',
      note: '',
      quorum: 1,
    });
    expect(shown()).toEqual([
      ['chat-ben', 'collective-join-request'],
      ['chat-cat', 'collective-join-request'],
    ]);
  });

  it('runs a courtesy beside a command: its failure is logged, and close waits for it', async () => {
    notices.courtesy(() => Promise.reject(Object.assign(new Error('x'), { code: 'NAME_UNKNOWN' })));
    const gate = deferred();
    let done = false;
    notices.courtesy(async () => {
      await gate.promise;
      done = true;
    });
    let closed = false;
    const closing = notices.close().then(() => {
      closed = true;
    });
    for (let i = 0; i < 20; i++) await Promise.resolve();
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    expect(done).toBe(true);
    expect(warnings()).toEqual([['bridge.notify_failed', 'NAME_UNKNOWN']]);
  });

  it('tells an admission once, and again on the next call when the chat did not take it', async () => {
    const ann = await world.hold('ann', sessions);
    const ben = await world.hold('ben', sessions);
    await sessions.must(ann).client.createCollective('club');
    await sessions.must(ben).client.requestToJoin('club', 'hi');
    const benSession = sessions.must(ben);
    await notices.tellAdmissions(benSession);
    expect(world.surface.notices).toEqual([]);

    await sessions.must(ann).client.vouch('club', 'ben');
    world.surface.fail = 1;
    await notices.tellAdmissions(benSession);
    expect(world.surface.notices).toEqual([]);
    await notices.tellAdmissions(benSession);
    await notices.tellAdmissions(benSession);
    expect(world.surface.notices).toEqual([
      {
        chat: 'chat-ben',
        notice: {
          kind: 'collective-vouched',
          collective: 'club',
          voucher: 'ann',
          vouches: 1,
          quorum: 1,
          admitted: true,
        },
      },
    ]);
  });
});
