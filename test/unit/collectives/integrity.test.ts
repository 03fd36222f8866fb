/** The log's integrity: signatures against registered keys, the hash chain, seq, time, framing. */
import { describe, expect, it } from 'vitest';
import { generateIdentityKeys } from '../../../common/crypto/index.js';
import {
  EVENT_HASH_BYTES,
  GENESIS_PREV,
  foldLog,
  genesisDraft,
  signCollectiveEvent,
  type CollectiveEvent,
} from '../../../common/collectives/index.js';
import { TAGS, encodeCanonical, signValue } from '../../../common/wire/index.js';
import { CollectiveWriter } from '../../support/collective-writer.js';
import { expectRejected, expectRule } from './expect-rejected.js';

function collective(): CollectiveWriter {
  const w = new CollectiveWriter();
  w.genesis('portland', ['alice', 'bob', 'carol']);
  w.act('join-request', 'dave', { note: '' });
  return w;
}

/** The next vouch by alice, with `patch` applied, signed by alice's real key. */
function patchedVouch(w: CollectiveWriter, patch: Partial<CollectiveEvent>) {
  const draft = { ...w.log.draft('vouch', 'alice', w.now + 1, { candidate: 'dave' }), ...patch };
  return signCollectiveEvent(draft as CollectiveEvent, w.registry.secretOf('alice'));
}

describe('signatures', () => {
  it('refuses an event signed by anyone but the actor as registered (a forged log)', () => {
    const w = collective();
    const mallory = generateIdentityKeys();
    const draft = w.log.draft('vouch', 'alice', w.now + 1, { candidate: 'dave' });
    expectRejected(w, signCollectiveEvent(draft, mallory.signSecret), 'signature');
    const bob = w.registry.secretOf('bob');
    expectRejected(w, signCollectiveEvent(draft, bob), 'signature');
  });

  it('refuses an event whose actor is not registered', () => {
    const w = collective();
    const stranger = generateIdentityKeys();
    const draft = w.log.draft('join-request', 'stranger', w.now + 1, { note: '' });
    expectRejected(w, signCollectiveEvent(draft, stranger.signSecret), 'signature');
  });

  it('refuses a signature moved onto other bytes, and a signature under another tag', () => {
    const w = collective();
    const good = w.sign('vouch', 'alice', { candidate: 'dave' });
    const other = w.sign('vouch', 'bob', { candidate: 'dave' });
    expectRejected(w, { signed: good.signed, sig: other.sig }, 'signature');
    const draft = w.log.draft('vouch', 'alice', w.now + 1, { candidate: 'dave' });
    const asLetter = signValue(TAGS.letter, draft, w.registry.secretOf('alice'));
    expectRejected(w, { signed: asLetter.bytes, sig: asLetter.sig }, 'malformed');
  });
});

describe('the chain', () => {
  it('refuses a broken chain', () => {
    const w = collective();
    expectRejected(w, patchedVouch(w, { prev: new Uint8Array(EVENT_HASH_BYTES).fill(7) }), 'chain');
    expectRejected(w, patchedVouch(w, { prev: GENESIS_PREV }), 'chain');
  });

  it('refuses a skipped or repeated seq, and so the second branch of a fork', () => {
    const w = collective();
    expectRejected(w, patchedVouch(w, { seq: w.log.length + 1 }), 'seq');
    expectRejected(w, patchedVouch(w, { seq: w.log.length - 1 }), 'seq');
    const left = w.sign('vouch', 'alice', { candidate: 'dave' });
    const right = w.sign('vouch', 'bob', { candidate: 'dave' });
    const index = w.events.length;
    expectRule(foldLog([...w.events, left, right], w.registry), index + 1, 'seq');
    expect(foldLog([...w.events, left], w.registry).ok).toBe(true);
    expect(foldLog([...w.events, right], w.registry).ok).toBe(true);
  });

  it('refuses time going backwards, but not two events in the same millisecond', () => {
    const w = collective();
    expectRejected(w, patchedVouch(w, { at: w.now - 1 }), 'time');
    w.act('vouch', 'alice', { candidate: 'dave' }, 0);
  });

  it('refuses an event of another collective', () => {
    const w = collective();
    expectRejected(w, patchedVouch(w, { collective: 'socialists' }), 'collective');
  });

  it('refuses a log that does not start with exactly one genesis by a founder', () => {
    const w = collective();
    expectRule(foldLog([], w.registry), 0, 'genesis');
    expectRule(foldLog(w.events.slice(1), w.registry), 0, 'seq');
    const second = genesisDraft('portland', 'alice', w.now, {
      founders: ['alice'],
      constitution: w.log.state().constitution,
    });
    const again = { ...second, seq: w.log.length, prev: w.log.head };
    expectRejected(w, signCollectiveEvent(again, w.registry.secretOf('alice')), 'genesis');
    w.registry.register('zed');
    const byOutsider = genesisDraft('portland', 'zed', 0, {
      founders: ['alice'],
      constitution: w.log.state().constitution,
    });
    const signed = signCollectiveEvent(byOutsider, w.registry.secretOf('zed'));
    expectRule(foldLog([signed], w.registry), 0, 'genesis');
    const unregistered = genesisDraft('portland', 'alice', 0, {
      founders: ['alice', 'ghost'],
      constitution: w.log.state().constitution,
    });
    const signed2 = signCollectiveEvent(unregistered, w.registry.secretOf('alice'));
    expectRule(foldLog([signed2], w.registry), 0, 'genesis');
  });
});

describe('framing', () => {
  it('refuses trailing bytes, unknown fields, unknown kinds and non-canonical names', () => {
    const w = collective();
    const good = w.sign('vouch', 'alice', { candidate: 'dave' });
    const trailing = new Uint8Array([...good.signed, 0]);
    expectRejected(w, { signed: trailing, sig: good.sig }, 'malformed');
    const secret = w.registry.secretOf('alice');
    const draft = w.log.draft('vouch', 'alice', w.now + 1, { candidate: 'dave' });
    for (const bad of [
      { ...draft, extra: 1 },
      { ...draft, kind: 'coup' },
      { ...draft, body: { candidate: 'Dave' } },
      { ...draft, v: 2 },
      { ...draft, prev: new Uint8Array(31) },
    ]) {
      const signed = signValue(TAGS.collective, bad, secret);
      expectRejected(w, { signed: signed.bytes, sig: signed.sig }, 'malformed');
    }
    expectRejected(w, { signed: encodeCanonical('nonsense'), sig: good.sig }, 'malformed');
  });
});
