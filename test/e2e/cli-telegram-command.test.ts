/** `komrade telegram` starts the Telegram adapter as its own process and reports its exit. */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CLI = join(ROOT, 'dist', 'adapters', 'cli', 'main.js');

function komrade(args: readonly string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolveRun, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      resolveRun({ code, stderr });
    });
  });
}

describe('komrade telegram', () => {
  it('runs the adapter process and passes its failure through', async () => {
    const run = await komrade(['telegram', '--config', '/nonexistent/telegram.yaml']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('komrade-telegram');
    expect(run.stderr).toContain('/nonexistent/telegram.yaml');
  });

  it('requires a config file', async () => {
    const run = await komrade(['telegram']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--config/);
  });
});
