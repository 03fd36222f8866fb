/**
 * `BENCH_PROFILE=1`: the Operator runs under V8's sampling profiler (`--cpu-prof`) while letters
 * are measured, and the functions that took the most of its own CPU time are printed, so the next
 * person sees where the time goes without opening a profiler.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

/** Whether this run profiles the Operator. */
export const PROFILING = process.env['BENCH_PROFILE'] === '1';

/** One function's share of the sampled time. */
export interface ProfileEntry {
  readonly fn: string;
  /** Where it is defined, relative to the project (or the Node internal module). */
  readonly where: string;
  readonly selfMs: number;
  /** Share of the time the Operator's main thread was busy (idle time left out). */
  readonly percent: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: {
    readonly functionName: string;
    readonly url: string;
    readonly lineNumber: number;
  };
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

/** A folder for the profile and the Node options that make a child write it there. */
export async function profilerArgs(): Promise<{ dir: string; nodeArgs: string[] }> {
  const dir = await mkdtemp(join(tmpdir(), 'komrade-bench-prof-'));
  return { dir, nodeArgs: ['--cpu-prof', `--cpu-prof-dir=${dir}`] };
}

/**
 * Reads the profile a child wrote in `dir` when it exited and removes the folder.
 * @returns the `top` functions by self time; empty if the child wrote no profile (it was killed)
 */
export async function topFunctions(dir: string, top = 20): Promise<ProfileEntry[]> {
  try {
    const files = (await readdir(dir)).filter((f) => f.endsWith('.cpuprofile'));
    const selfUs = new Map<string, { fn: string; where: string; us: number }>();
    let totalUs = 0;
    for (const file of files) {
      const profile = JSON.parse(await readFile(join(dir, file), 'utf8')) as CpuProfile;
      const byId = new Map(profile.nodes.map((node) => [node.id, node]));
      profile.samples.forEach((id, i) => {
        const node = byId.get(id);
        const us = profile.timeDeltas[i] ?? 0;
        // Waiting for I/O is not CPU: shares are of the time the Operator was busy.
        if (node === undefined || node.callFrame.functionName === '(idle)') return;
        totalUs += us;
        const { functionName, url, lineNumber } = node.callFrame;
        const fn = functionName === '' ? '(anonymous)' : functionName;
        const where = url.startsWith('wasm://')
          ? 'libsodium (WebAssembly)'
          : url === ''
            ? ''
            : `${url.startsWith('file://') ? relative(process.cwd(), new URL(url).pathname) : url}:${lineNumber + 1}`;
        const key = `${fn} ${where}`;
        const entry = selfUs.get(key) ?? { fn, where, us: 0 };
        entry.us += us;
        selfUs.set(key, entry);
      });
    }
    return [...selfUs.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((e) => ({
        fn: e.fn,
        where: e.where,
        selfMs: Math.round(e.us / 1000),
        percent: Number(((100 * e.us) / Math.max(totalUs, 1)).toFixed(1)),
      }));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
