/** Every rule of the engine, each broken once: refused with the event's index, incrementally and by a fold. */
import { describe, expect, it } from 'vitest';
import {
  DEFAULT_CONSTITUTION,
  foldLog,
  genesisDraft,
  signCollectiveEvent,
  type Constitution,
} from '../../../common/collectives/index.js';
import { CollectiveWriter } from '../../support/collective-writer.js';
import { expectRejected, expectRule } from './expect-rejected.js';

const FIXED_2: Constitution = { ...DEFAULT_CONSTITUTION, quorum: { fixed: 2 } };

/** A collective of `founders` under `constitution`. */
function collective(founders = ['alice', 'bob', 'carol'], constitution = DEFAULT_CONSTITUTION) {
  const w = new CollectiveWriter();
  w.genesis('portland', founders, constitution);
  return w;
}

/** `proposer` proposes removing `member`; returns the proposal's seq. */
function propose(w: CollectiveWriter, proposer: string, member: string): number {
  const seq = w.log.length;
  w.act('proposal', proposer, { action: 'remove', member });
  return seq;
}

describe('admission', () => {
  it('grows the quorum with the collective', () => {
    const w = collective(['mem1', 'mem2', 'mem3', 'mem4', 'mem5']);
    w.admit('mem6', ['mem1']); // 5 members: 1 vouch
    w.act('join-request', 'mem7', { note: '' });
    w.act('vouch', 'mem1', { candidate: 'mem7' });
    expectRejected(w, w.sign('admit', 'mem7', { candidate: 'mem7' }), 'quorum'); // 6 members: 2
    w.act('vouch', 'mem2', { candidate: 'mem7' });
    w.act('admit', 'mem7', { candidate: 'mem7' });
    expect(w.log.state().members).toHaveLength(7);
  });

  it('counts a double vouch once: the second is refused', () => {
    const w = collective(undefined, FIXED_2);
    w.act('join-request', 'dave', { note: '' });
    w.act('vouch', 'alice', { candidate: 'dave' });
    expectRejected(w, w.sign('vouch', 'alice', { candidate: 'dave' }), 'double-vouch');
    expectRejected(w, w.sign('admit', 'dave', { candidate: 'dave' }), 'quorum');
  });

  it('refuses a vouch by a non-member, and by the candidate', () => {
    const w = collective();
    w.act('join-request', 'dave', { note: '' });
    expectRejected(w, w.sign('vouch', 'mallory', { candidate: 'dave' }), 'not-member');
    expectRejected(w, w.sign('vouch', 'dave', { candidate: 'dave' }), 'not-member');
  });

  it('does not count the vouch of a member who left before the admit', () => {
    const w = collective(undefined, FIXED_2);
    w.act('join-request', 'dave', { note: '' });
    w.act('vouch', 'alice', { candidate: 'dave' });
    w.act('vouch', 'bob', { candidate: 'dave' });
    w.act('leave', 'bob', {});
    expect(w.log.state().pending[0]?.vouchers).toEqual(['alice']);
    expectRejected(w, w.sign('admit', 'dave', { candidate: 'dave' }), 'quorum');
    // Back in, Bob's old vouch still does not count, and he may vouch again.
    w.admit('bob', ['alice', 'carol']);
    expect(w.log.state().pending[0]?.vouchers).toEqual(['alice']);
    w.act('vouch', 'bob', { candidate: 'dave' });
    w.act('admit', 'alice', { candidate: 'dave' });
  });

  it('does not count the vouch of a member removed before the admit', () => {
    const w = collective(['alice', 'bob', 'carol', 'dave'], FIXED_2);
    w.act('join-request', 'erin', { note: '' });
    w.act('vouch', 'alice', { candidate: 'erin' });
    w.act('vouch', 'dave', { candidate: 'erin' });
    const p = propose(w, 'alice', 'dave');
    for (const voter of ['alice', 'bob', 'carol']) w.act('vote', voter, { proposal: p, yes: true });
    w.act('enactment', 'bob', { proposal: p });
    expectRejected(w, w.sign('admit', 'erin', { candidate: 'erin' }), 'quorum');
  });

  it('orders requests, vouches and admits', () => {
    const w = collective();
    expectRejected(w, w.sign('join-request', 'alice', { note: '' }), 'already-member');
    expectRejected(w, w.sign('vouch', 'alice', { candidate: 'dave' }), 'not-pending');
    expectRejected(w, w.sign('admit', 'alice', { candidate: 'dave' }), 'not-pending');
    w.act('join-request', 'dave', { note: '' });
    expectRejected(w, w.sign('join-request', 'dave', { note: '' }), 'already-pending');
    expectRejected(w, w.sign('admit', 'mallory', { candidate: 'dave' }), 'not-member');
    // A candidate may withdraw, and then is no longer pending.
    w.act('leave', 'dave', {});
    expect(w.log.state().pending).toEqual([]);
    expectRejected(w, w.sign('leave', 'dave', {}), 'not-member');
  });

  it('applies an amended quorum to later admissions only', () => {
    const w = collective(['alice', 'bob', 'carol']);
    w.admit('dave', ['alice']); // admitted under a quorum of 1
    w.act('join-request', 'erin', { note: '' });
    w.act('vouch', 'alice', { candidate: 'erin' });
    const p = w.log.length;
    w.act('proposal', 'bob', { action: 'amend', constitution: FIXED_2 });
    for (const voter of ['alice', 'bob', 'carol']) w.act('vote', voter, { proposal: p, yes: true });
    w.act('enactment', 'bob', { proposal: p });
    // Erin's vouch was enough before; now the quorum is 2. Dave stays a member.
    expectRejected(w, w.sign('admit', 'erin', { candidate: 'erin' }), 'quorum');
    const folded = foldLog(w.events, w.registry);
    expect(folded.ok && folded.value.members).toContain('dave');
  });
});

describe('proposals and votes', () => {
  it('refuses a double vote, even one that changes its mind', () => {
    const w = collective();
    const p = propose(w, 'alice', 'carol');
    w.act('vote', 'bob', { proposal: p, yes: true });
    expectRejected(w, w.sign('vote', 'bob', { proposal: p, yes: true }), 'double-vote');
    expectRejected(w, w.sign('vote', 'bob', { proposal: p, yes: false }), 'double-vote');
  });

  it('refuses votes and enactments after the voting window', () => {
    const w = collective();
    const p = propose(w, 'alice', 'carol');
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    const window = DEFAULT_CONSTITUTION.votingWindowMs;
    expectRejected(
      w,
      w.sign('vote', 'carol', { proposal: p, yes: false }, window),
      'window-closed',
    );
    expectRejected(w, w.sign('enactment', 'alice', { proposal: p }, window), 'window-closed');
    // The last instant of the window still counts.
    w.act('enactment', 'alice', { proposal: p }, window - 2_000);
    expect(w.log.state().members).toEqual(['alice', 'bob']);
  });

  it('refuses an enactment before enough votes, and counts only yes votes of current members', () => {
    const w = collective(['alice', 'bob', 'carol', 'dave']);
    const p = w.log.length;
    w.act('proposal', 'alice', { action: 'amend', constitution: FIXED_2 });
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('vote', 'carol', { proposal: p, yes: false });
    expectRejected(w, w.sign('enactment', 'alice', { proposal: p }), 'threshold'); // 2 of 4
    w.act('vote', 'dave', { proposal: p, yes: true });
    w.act('leave', 'dave', {}); // 2 yes of 3 members: a majority again
    w.act('enactment', 'bob', { proposal: p });
    expect(w.log.state().constitution).toEqual(FIXED_2);
  });

  it('refuses a removal without two thirds', () => {
    const w = collective(['alice', 'bob', 'carol', 'dave', 'erin', 'fred']);
    const p = propose(w, 'alice', 'fred');
    for (const voter of ['alice', 'bob', 'carol']) w.act('vote', voter, { proposal: p, yes: true });
    expectRejected(w, w.sign('enactment', 'alice', { proposal: p }), 'threshold'); // 3 of 6 < 4
    w.act('vote', 'dave', { proposal: p, yes: true });
    w.act('enactment', 'alice', { proposal: p });
  });

  it('refuses every later act of a removed member', () => {
    const w = collective();
    const p = propose(w, 'alice', 'carol');
    w.act('join-request', 'dave', { note: '' });
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('enactment', 'alice', { proposal: p });
    const q = propose(w, 'alice', 'bob');
    expectRejected(w, w.sign('vouch', 'carol', { candidate: 'dave' }), 'not-member');
    expectRejected(w, w.sign('vote', 'carol', { proposal: q, yes: false }), 'not-member');
    expectRejected(
      w,
      w.sign('proposal', 'carol', { action: 'remove', member: 'alice' }),
      'not-member',
    );
    expectRejected(w, w.sign('enactment', 'carol', { proposal: q }), 'not-member');
    expectRejected(w, w.sign('leave', 'carol', {}), 'not-member');
  });

  it('refuses votes on unknown or enacted proposals, and proposals that make no sense', () => {
    const w = collective();
    expectRejected(w, w.sign('vote', 'alice', { proposal: 0, yes: true }), 'no-proposal');
    expectRejected(
      w,
      w.sign('proposal', 'alice', { action: 'remove', member: 'zed' }),
      'not-member',
    );
    expectRejected(
      w,
      w.sign('proposal', 'alice', { action: 'remove', member: 'alice' }),
      'not-member',
    );
    const p = propose(w, 'alice', 'carol');
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('enactment', 'bob', { proposal: p });
    expectRejected(w, w.sign('enactment', 'bob', { proposal: p }), 'no-proposal');
  });

  it('refuses to enact a removal of someone who already left', () => {
    const w = collective();
    const p = propose(w, 'alice', 'carol');
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('leave', 'carol', {});
    expectRejected(w, w.sign('enactment', 'alice', { proposal: p }), 'not-member');
  });
});

describe('key holders', () => {
  const selfOnly: Constitution = { ...DEFAULT_CONSTITUTION, allowedKeyHolders: ['self'] };

  it('lets the constitution refuse adapter-held identities, but never traps a member', () => {
    const w = new CollectiveWriter();
    w.registry.register('tg_tom', 'telegram');
    w.registry.register('dc_dee', 'discord');
    w.genesis('portland', ['alice', 'bob', 'dc_dee']);
    w.act('join-request', 'tg_tom', { note: '' });
    const p = w.log.length;
    w.act('proposal', 'alice', { action: 'amend', constitution: selfOnly });
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('enactment', 'alice', { proposal: p });
    w.act('vouch', 'alice', { candidate: 'tg_tom' });
    expectRejected(w, w.sign('admit', 'alice', { candidate: 'tg_tom' }), 'key-holder');
    const q = propose(w, 'alice', 'bob');
    expectRejected(w, w.sign('vote', 'dc_dee', { proposal: q, yes: false }), 'key-holder');
    w.act('leave', 'dc_dee', {});
    w.registry.register('tg_tina', 'telegram');
    expectRejected(w, w.sign('join-request', 'tg_tina', { note: '' }), 'key-holder');
  });

  it('keeps its rules by label for a surface that did not exist before (matrix)', () => {
    const w = new CollectiveWriter();
    w.registry.register('mx_max', 'matrix');
    w.genesis('portland', ['alice', 'bob']);
    // Not in the default list: a matrix-held identity cannot ask to join…
    expectRejected(w, w.sign('join-request', 'mx_max', { note: '' }), 'key-holder');
    const withMatrix: Constitution = {
      ...DEFAULT_CONSTITUTION,
      allowedKeyHolders: ['self', 'matrix'],
    };
    const p = w.log.length;
    w.act('proposal', 'alice', { action: 'amend', constitution: withMatrix });
    w.act('vote', 'alice', { proposal: p, yes: true });
    w.act('vote', 'bob', { proposal: p, yes: true });
    w.act('enactment', 'alice', { proposal: p });
    // …until the collective allows the label by amendment; then it joins like anyone.
    w.act('join-request', 'mx_max', { note: '' });
    w.act('vouch', 'alice', { candidate: 'mx_max' });
    w.act('admit', 'alice', { candidate: 'mx_max' });
    expect(w.log.state().members).toContain('mx_max');
  });

  it('refuses a genesis that lists a founder the constitution does not let act', () => {
    const w = new CollectiveWriter();
    w.registry.register('tg_tom', 'telegram');
    const genesis = genesisDraft('portland', 'alice', w.now, {
      founders: ['alice', 'tg_tom'],
      constitution: selfOnly,
    });
    w.registry.register('alice');
    const signed = signCollectiveEvent(genesis, w.registry.secretOf('alice'));
    expectRule(foldLog([signed], w.registry), 0, 'key-holder');
  });
});
