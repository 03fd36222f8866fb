/** The built Operator as a process: start, serve, stop cleanly, restart with the same state. */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';
import { TestClient, makeKomrade } from '../support/operator-test-client.js';

const started: OperatorProcess[] = [];
const temps: string[] = [];

afterAll(async () => {
  await Promise.all(started.map((p) => p.cleanup()));
  for (const dir of temps) rmSync(dir, { recursive: true, force: true });
});

async function start(options: Parameters<typeof startOperatorProcess>[0] = {}) {
  const operator = await startOperatorProcess(options);
  started.push(operator);
  return operator;
}

/** Runs main.js with a config file; resolves with exit code and output. */
function runMain(configText: string) {
  const dir = mkdtempSync(join(tmpdir(), 'komrade-operator-bad-'));
  temps.push(dir);
  const file = join(dir, 'operator.yaml');
  writeFileSync(file, configText);
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, ['dist/operator/main.js', '--config', file], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('exit', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

describe('Operator process', () => {
  it('starts, serves, exits 0 on SIGTERM, and keeps names and keys across a restart', async () => {
    const first = await start({ powBits: 4 });
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const client = new TestClient(first.url);
    const info = await client.get('/v1/operator');
    expect(info.status).toBe(200);
    const signKey = (info.json as { signKey: string }).signKey;
    expect((await client.register(makeKomrade('alice'), 4)).status).toBe(201);

    await first.stop();
    expect(await first.exited).toBe(0);

    const second = await start({ powBits: 4, dataDir: first.dataDir });
    const again = new TestClient(second.url);
    expect(((await again.get('/v1/operator')).json as { signKey: string }).signKey).toBe(signKey);
    expect((await again.get('/v1/komrades/alice')).status).toBe(200);
    await second.stop();
    expect(await second.exited).toBe(0);
  });

  it('says in its start-up log which libsodium build it runs: native by default, WebAssembly when told', async () => {
    const native = await start({ powBits: 4, config: { log: { level: 'info' } } });
    const forced = await start({
      powBits: 4,
      config: { log: { level: 'info' } },
      env: { KOMRADE_CRYPTO: 'wasm' },
    });
    const started = (operator: OperatorProcess) =>
      operator
        .stderr()
        .split('\n')
        .filter((line) => line.includes('"operator.started"'))
        .map((line) => (JSON.parse(line) as { sodium?: string }).sodium);
    expect(started(native)).toEqual(['native']);
    expect(started(forced)).toEqual(['wasm']);
  });

  it('keeps its state through SIGKILL too (every answered write was committed)', async () => {
    const first = await start({ powBits: 4 });
    const client = new TestClient(first.url);
    expect((await client.register(makeKomrade('bob'), 4)).status).toBe(201);
    await first.kill();
    const second = await start({ powBits: 4, dataDir: first.dataDir });
    expect((await new TestClient(second.url).get('/v1/komrades/bob')).status).toBe(200);
  });

  it('exits 1 for a config with an unknown key, naming the field but not the value', async () => {
    const secret = 'hunter2-very-secret-value';
    const result = await runMain(`http:\n  port: 0\n  tokn: ${secret}\n`);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('tokn');
    expect(result.stderr).not.toContain(secret);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  it('refuses a non-loopback host', async () => {
    const result = await runMain('http:\n  host: 0.0.0.0\n  port: 0\n');
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('http.host');
    expect(result.stderr).toContain('loopback');
  });

  it('the harness reports an early exit with the stderr tail', async () => {
    await expect(startOperatorProcess({ config: { http: { port: 'x' } } })).rejects.toThrow(
      /exited with code 1 before listening[\s\S]*http\.port/,
    );
  });
});
