/** The worked example: founders, a newcomer vouched in, an amendment by vote, a stricter quorum. */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONSTITUTION, foldLog } from '../../../common/collectives/index.js';
import { CollectiveWriter } from '../../support/collective-writer.js';
import { expectRejected } from './expect-rejected.js';

describe('a collective that governs itself', () => {
  it('admits by vouch, amends its quorum by vote, and holds the next newcomer to the new quorum', () => {
    const w = new CollectiveWriter();
    w.genesis('portland', ['alice', 'bob', 'carol']);
    expect(w.log.state().pending).toEqual([]);

    // Dave asks, and one vouch is the quorum while the collective has at most 5 members.
    w.act('join-request', 'dave', { note: 'met at the tenants union' });
    expect(w.log.state().pending).toEqual([
      { candidate: 'dave', requestedAt: w.now, vouchers: [], quorum: 1 },
    ]);
    w.act('vouch', 'alice', { candidate: 'dave' });
    expect(w.log.state().pending[0]?.vouchers).toEqual(['alice']);
    w.act('admit', 'dave', { candidate: 'dave' });
    expect(w.log.state().members).toEqual(['alice', 'bob', 'carol', 'dave']);

    // Carol proposes a fixed quorum of 2; a majority of 4 is 3 yes votes.
    const proposalSeq = w.log.length;
    w.act('proposal', 'carol', {
      action: 'amend',
      constitution: { ...DEFAULT_CONSTITUTION, quorum: { fixed: 2 } },
    });
    w.act('vote', 'carol', { proposal: proposalSeq, yes: true });
    w.act('vote', 'dave', { proposal: proposalSeq, yes: true });
    w.act('vote', 'bob', { proposal: proposalSeq, yes: false });
    expect(w.log.state().proposals).toMatchObject([
      { seq: proposalSeq, proposer: 'carol', yes: ['carol', 'dave'], no: ['bob'], required: 3 },
    ]);
    expectRejected(w, w.sign('enactment', 'carol', { proposal: proposalSeq }), 'threshold');
    w.act('vote', 'alice', { proposal: proposalSeq, yes: true });
    w.act('enactment', 'carol', { proposal: proposalSeq });
    expect(w.log.state().constitution.quorum).toEqual({ fixed: 2 });
    expect(w.log.state().proposals).toEqual([]);

    // Erin now needs two vouches.
    w.act('join-request', 'erin', { note: '' });
    w.act('vouch', 'bob', { candidate: 'erin' });
    expect(w.log.state().pending).toMatchObject([{ candidate: 'erin', quorum: 2 }]);
    expectRejected(w, w.sign('admit', 'erin', { candidate: 'erin' }), 'quorum');
    w.act('vouch', 'dave', { candidate: 'erin' });
    w.act('admit', 'bob', { candidate: 'erin' });

    // Every client re-verifies the whole log and reaches the same state.
    const folded = foldLog(w.events, w.registry);
    expect(folded.ok && folded.value).toEqual(w.log.state());
    expect(folded.ok && folded.value.members).toEqual(['alice', 'bob', 'carol', 'dave', 'erin']);
    expect(folded.ok && folded.value.length).toBe(w.events.length);
  });
});
