/**
 * Collective actions answer with the collective before and after them, from the sync the action
 * does anyway: a caller (a bot telling members what passed) never syncs again "to be sure".
 */
import { describe, expect, it } from 'vitest';
import type { OperatorClient } from '../../client/index.js';
import { useClientWorld, type TestKomrade } from '../support/client-fixture.js';
import { withOverrides } from '../support/operator-client-overrides.js';

const world = useClientWorld('client-core-change-', (operator) => {
  operator.powBits = 2;
});

/** `k`'s client over an Operator that counts the log pages it serves. */
function counted(k: TestKomrade): { client: TestKomrade['client']; pages: () => number } {
  let pages = 0;
  const operator: OperatorClient = withOverrides(world.operator, {
    collectiveLog: (...args) => {
      pages++;
      return world.operator.collectiveLog(...args);
    },
  });
  return { client: world.client(k.store, k.keys, { operator }), pages: () => pages };
}

async function portland() {
  const alice = await world.registered('alice');
  const bob = await world.registered('bob');
  const carol = await world.registered('carol');
  await alice.client.createCollective('portland', { founders: ['bob', 'carol'] });
  world.clock += 1_000;
  return { alice, bob, carol };
}

describe('collective actions answer with before and after', () => {
  it('a vote that enacts: the proposal open before, the new rules after, one log read', async () => {
    const { alice, bob } = await portland();
    const proposed = await alice.client.propose('portland', {
      action: 'amend',
      constitution: {
        ...(await alice.client.collective('portland')).constitution,
        quorum: { fixed: 2 },
      },
    });
    expect(proposed.before.proposals).toEqual([]);
    expect(proposed.after.proposals.map((p) => p.id)).toEqual([proposed.id]);

    world.clock += 1_000;
    await alice.client.vote('portland', proposed.id, true);
    const voter = counted(bob);
    const voted = await voter.client.vote('portland', proposed.id, true);
    expect(voted.enacted).toBe(true);
    expect(voted.before.proposals.map((p) => p.id)).toEqual([proposed.id]);
    expect(voted.before.constitution.quorum).not.toEqual({ fixed: 2 });
    expect(voted.after.proposals).toEqual([]);
    expect(voted.after.constitution.quorum).toEqual({ fixed: 2 });
    expect(voted.after.length).toBe(voted.before.length + 2);
    // One sync (a single page for a short log), then the vote and the enactment appended.
    expect(voter.pages()).toBe(1);
  });

  it('an answer with nothing appended has the same view before and after', async () => {
    const { alice, bob } = await portland();
    const proposed = await alice.client.propose('portland', { action: 'remove', member: 'carol' });
    world.clock += 1_000;
    await alice.client.vote('portland', proposed.id, true);
    expect((await bob.client.vote('portland', proposed.id, true)).enacted).toBe(true);
    const again = await alice.client.vote('portland', proposed.id, true);
    expect(again).toMatchObject({ enacted: true, alreadyPassed: true });
    expect(again.after).toEqual(again.before);
    expect(again.before.members.map((m) => m.name)).toEqual(['alice', 'bob']);
  });

  it('a vouch that admits, and a join request, show the membership on both sides', async () => {
    const { alice } = await portland();
    const dave = await world.registered('dave');
    const asked = await dave.client.requestToJoin('portland', 'hello');
    // An outsider kept no copy; after is the view returned.
    expect(asked.before).toBeUndefined();
    expect(asked.after.pending.map((p) => p.candidate)).toEqual(['dave']);
    expect(asked.standing).toBe('candidate');

    world.clock += 1_000;
    const voucher = counted(alice);
    const vouched = await voucher.client.vouch('portland', 'dave');
    expect(vouched.admitted).toBe(true);
    expect(vouched.before.pending.map((p) => p.candidate)).toEqual(['dave']);
    expect(vouched.after.members.map((m) => m.name)).toContain('dave');
    expect(vouched.after.pending).toEqual([]);
    expect(voucher.pages()).toBe(1);
  });

  it('enact, once a departure met the threshold, shows the member removed', async () => {
    const alice = await world.registered('alice');
    const bob = await world.registered('bob');
    await world.registered('carol');
    const dave = await world.registered('dave');
    await alice.client.createCollective('portland', { founders: ['bob', 'carol', 'dave'] });
    world.clock += 1_000;
    const proposed = await alice.client.propose('portland', { action: 'remove', member: 'carol' });
    await alice.client.vote('portland', proposed.id, true);
    // 2 of 4 yes: not yet two thirds, so the vote does not enact.
    expect((await bob.client.vote('portland', proposed.id, true)).enacted).toBe(false);
    await dave.client.leave('portland');
    const enacted = await bob.client.enact('portland', proposed.id);
    expect(enacted.enacted).toBe(true);
    expect(enacted.before.members.map((m) => m.name)).toEqual(['alice', 'bob', 'carol']);
    expect(enacted.before.proposals.map((p) => p.id)).toEqual([proposed.id]);
    expect(enacted.after.members.map((m) => m.name)).toEqual(['alice', 'bob']);
  });
});
