/** What the benchmarks read about processes: CPU time from /proc, and the bare baseline server. */
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

const CLK_TCK = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU seconds (user + system) a process has used, from /proc/<pid>/stat. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

/** The bare node:http baseline, started as its own process like the Operator. */
export async function startBareServer(): Promise<{ url: string; pid: number; stop: () => void }> {
  const child = spawn(process.execPath, [join(HERE, 'bare-http-server.js')], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      const match = /listening (\d+)/.exec(chunk);
      if (match?.[1] !== undefined) resolve(Number(match[1]));
    });
    child.once('exit', () => {
      reject(new Error('baseline server exited'));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    stop: () => child.kill('SIGTERM'),
  };
}
