/** The bootstrap stall watch: says once per interval that tor stopped moving, with tor's summary. */
import { describe, expect, it } from 'vitest';
import {
  BootstrapStallWatch,
  describeBootstrapStall,
  describeBootstrapWarning,
  parseBootstrapPhase,
  type BootstrapProgress,
} from '../../tor/index.js';

const STALL_MS = 30_000;

function phase(text: string): BootstrapProgress {
  const progress = parseBootstrapPhase(text);
  if (progress === undefined) throw new Error(`not a bootstrap line: ${text}`);
  return progress;
}

const LOADING = phase(
  'NOTICE BOOTSTRAP PROGRESS=45 TAG=loading_descriptors SUMMARY="Loading relay descriptors"',
);
const LOADING_WARN = phase(
  'WARN BOOTSTRAP PROGRESS=45 TAG=loading_descriptors SUMMARY="Loading relay descriptors" WARNING="Connection refused" REASON=CONNECTREFUSED COUNT=3 RECOMMENDATION=warn',
);
const CIRCUIT = phase(
  'NOTICE BOOTSTRAP PROGRESS=90 TAG=ap_handshake_done SUMMARY="Handshake finished with a relay to build circuits"',
);
const DONE = phase('NOTICE BOOTSTRAP PROGRESS=100 TAG=done SUMMARY="Done"');

/** A watch over a clock the test moves by hand. */
function watchWithClock() {
  const clock = { now: 1_000_000 };
  const watch = new BootstrapStallWatch({ stallMs: STALL_MS, now: () => clock.now });
  return {
    watch,
    advance: (ms: number) => {
      clock.now += ms;
    },
  };
}

describe('BootstrapStallWatch', () => {
  it('stays quiet before the first phase and while the bootstrap moves', () => {
    const { watch, advance } = watchWithClock();
    advance(STALL_MS * 3);
    expect(watch.check()).toBeUndefined();
    watch.observe(LOADING);
    advance(STALL_MS - 1);
    expect(watch.check()).toBeUndefined();
    watch.observe(CIRCUIT);
    advance(STALL_MS - 1);
    expect(watch.check()).toBeUndefined();
  });

  it('reports a stall after the interval, then once per interval while it lasts', () => {
    const { watch, advance } = watchWithClock();
    watch.observe(LOADING);
    advance(STALL_MS);
    expect(watch.check()).toEqual({ progress: LOADING, stalledMs: STALL_MS });
    // Polled again within the same interval: nothing new to say.
    advance(1_000);
    expect(watch.check()).toBeUndefined();
    advance(STALL_MS - 2_000);
    expect(watch.check()).toBeUndefined();
    advance(1_000);
    expect(watch.check()).toEqual({ progress: LOADING, stalledMs: 2 * STALL_MS });
  });

  it('treats a repeated phase as no progress, but keeps its newest warning', () => {
    const { watch, advance } = watchWithClock();
    watch.observe(LOADING);
    advance(STALL_MS / 2);
    watch.observe(LOADING_WARN);
    advance(STALL_MS / 2);
    const stall = watch.check();
    expect(stall?.stalledMs).toBe(STALL_MS);
    expect(stall?.progress.warning).toBe('Connection refused');
  });

  it('starts counting again when the phase changes', () => {
    const { watch, advance } = watchWithClock();
    watch.observe(LOADING);
    advance(STALL_MS);
    expect(watch.check()).toBeDefined();
    watch.observe(CIRCUIT);
    advance(STALL_MS - 1);
    expect(watch.check()).toBeUndefined();
    advance(1);
    expect(watch.check()).toEqual({ progress: CIRCUIT, stalledMs: STALL_MS });
  });

  it('never reports once tor is at 100%', () => {
    const { watch, advance } = watchWithClock();
    watch.observe(DONE);
    advance(STALL_MS * 10);
    expect(watch.check()).toBeUndefined();
  });
});

describe('describeBootstrapStall', () => {
  it("names the percentage, tor's summary and warning, and says it is still waiting", () => {
    expect(describeBootstrapStall({ progress: LOADING, stalledMs: 30_400 })).toBe(
      'Tor bootstrap stalled at 45% (Loading relay descriptors) for 30 s; still waiting',
    );
    expect(describeBootstrapStall({ progress: LOADING_WARN, stalledMs: 60_000 })).toBe(
      'Tor bootstrap stalled at 45% (Loading relay descriptors; tor warns: Connection refused) for 60 s; still waiting',
    );
  });

  it("says a bare end reason such as DONE in words, and keeps tor's own text otherwise", () => {
    const closed = phase(
      'WARN BOOTSTRAP PROGRESS=10 TAG=conn_done SUMMARY="Connected to a relay" WARNING=DONE REASON=DONE COUNT=2 RECOMMENDATION=ignore',
    );
    expect(describeBootstrapStall({ progress: closed, stalledMs: 30_000 })).toBe(
      'Tor bootstrap stalled at 10% (Connected to a relay; tor warns: a connection to a relay was closed) for 30 s; still waiting',
    );
    expect(describeBootstrapWarning('connectrefused')).toBe('a relay refused the connection');
    expect(describeBootstrapWarning('No route to host')).toBe('No route to host');
  });

  it('leaves out an empty summary', () => {
    const bare = phase('NOTICE BOOTSTRAP PROGRESS=5');
    expect(describeBootstrapStall({ progress: bare, stalledMs: 30_000 })).toBe(
      'Tor bootstrap stalled at 5% for 30 s; still waiting',
    );
  });
});
