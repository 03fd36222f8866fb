/** `komrade telegram` starts the Telegram adapter as its own process and reports its exit. */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertCliBuilt, runKomrade } from '../support/komrade-cli.js';

beforeAll(() => {
  assertCliBuilt();
});

describe('komrade telegram', () => {
  it('runs the adapter process and passes its failure through', async () => {
    const run = await runKomrade(['telegram', '--config', '/nonexistent/telegram.yaml']);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain('komrade-telegram');
    expect(run.stderr).toContain('/nonexistent/telegram.yaml');
  });

  it('requires a config file', async () => {
    const run = await runKomrade(['telegram']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--config/);
  });
});
