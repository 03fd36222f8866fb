/**
 * Collective log verification: builds a real 10,000-event log (default constitution, so the quorum
 * grows as the collective does) and times `foldLog` on it, as a member's client would on download.
 */
import { performance } from 'node:perf_hooks';
import { foldLog } from '../common/collectives/index.js';
import { CollectiveWriter } from '../test/support/collective-writer.js';

/** Events in the measured log. */
export const COLLECTIVE_LOG_EVENTS = 10_000;

/** A valid log of exactly `events` events: newcomers vouched in by the quorum, some leaving. */
function buildLog(events: number): CollectiveWriter {
  const w = new CollectiveWriter();
  w.genesis('bench', ['founder_a', 'founder_b', 'founder_c']);
  for (let n = 0; w.events.length < events; n++) {
    const candidate = `newcomer_${n}`;
    const state = w.log.state();
    w.act('join-request', candidate, { note: '' }, 10);
    const quorum = state.members.length <= 5 ? 1 : Math.max(2, Math.ceil(state.members.length / 5));
    for (const voucher of state.members.slice(0, quorum)) {
      if (w.events.length >= events) return w;
      w.act('vouch', voucher, { candidate }, 10);
    }
    if (w.events.length >= events) return w;
    w.act('admit', candidate, { candidate }, 10);
    if (n % 10 === 9 && w.events.length < events) w.act('leave', candidate, {}, 10);
  }
  return w;
}

/**
 * Builds a 10,000-event log, then verifies it from scratch (every signature against the registered
 * key, the chain, every rule).
 * @returns the verification time in milliseconds (building and signing are not counted)
 */
export function benchCollectiveLog(): number {
  const w = buildLog(COLLECTIVE_LOG_EVENTS);
  const started = performance.now();
  const folded = foldLog(w.events, w.registry);
  const ms = performance.now() - started;
  if (!folded.ok) throw folded.error;
  if (folded.value.length !== COLLECTIVE_LOG_EVENTS) throw new Error('benchmark bug: short log');
  return Math.round(ms);
}
