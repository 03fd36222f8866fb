/** The CLI's output module, passphrase rules and environment: pure pieces, no processes. */
import { describe, expect, it } from 'vitest';
import { KDF_INTERACTIVE, KDF_MODERATE } from '../../common/crypto/index.js';
import { homePaths, readEnvironment } from '../../adapters/cli/environment.js';
import { Output, safeForTerminal } from '../../adapters/cli/output.js';
import { obtainPassphrase, type PromptInput } from '../../adapters/cli/passphrase.js';
import { renderInbox } from '../../adapters/cli/render.js';
import type { InboxCheck } from '../../client/index.js';

function buffers(isTTY = false) {
  const out: string[] = [];
  const err: string[] = [];
  const output = new Output({
    stdout: { write: (t: string) => out.push(t) },
    stderr: { write: (t: string) => err.push(t), isTTY },
  });
  return { output, out, err };
}

const noTerminal: PromptInput = {
  isTTY: false,
  setEncoding: () => undefined,
  on: () => undefined,
  off: () => undefined,
  resume: () => undefined,
  pause: () => undefined,
};

describe('Output', () => {
  it('writes human text or one JSON document on stdout, progress on stderr', () => {
    const { output, out, err } = buffers();
    output.progress('Deriving…');
    output.progressUpdate('50%');
    output.result({ a: 1 }, () => 'human');
    output.json = true;
    output.result({ a: 1 }, () => 'human');
    expect(out).toEqual(['human\n', '{\n  "a": 1\n}\n']);
    expect(err).toEqual(['Deriving…\n']);
  });

  it('renders errors with their hint, as JSON with --json', () => {
    const { output, err } = buffers();
    output.error({ code: 'NAME_TAKEN', message: 'Taken.', hint: 'Choose another name.' });
    output.json = true;
    output.error({ code: 'NAME_TAKEN', message: 'Taken.' });
    expect(err[0]).toBe('Error [NAME_TAKEN]: Taken.\n');
    expect(err[1]).toBe('  Choose another name.\n');
    expect(JSON.parse(err[2]!)).toEqual({ error: { code: 'NAME_TAKEN', message: 'Taken.' } });
  });

  it('neutralises terminal escapes in text from others', () => {
    expect(safeForTerminal('hi\u001b[2J\nthere\u0007')).toBe('hi\uFFFD[2J\nthere\uFFFD');
  });
});

describe('passphrase and environment', () => {
  it('takes KOMRADE_PASSPHRASE, and asks for it by name without a terminal', async () => {
    const { output } = buffers();
    const base = { input: noTerminal, output, confirm: false };
    expect(await obtainPassphrase({ ...base, fromEnv: 'secret words' })).toBe('secret words');
    await expect(obtainPassphrase({ ...base, fromEnv: undefined })).rejects.toMatchObject({
      code: 'USAGE',
      message: expect.stringContaining('KOMRADE_PASSPHRASE') as string,
    });
    await expect(
      obtainPassphrase({ ...base, confirm: true, fromEnv: 'short' }),
    ).rejects.toMatchObject({ code: 'USAGE' });
  });

  it('reads the home folder and the test-only KDF from the environment', () => {
    const env = readEnvironment({ KOMRADE_KDF: 'interactive' }, '/home/rosa');
    expect(env.kdf).toEqual(KDF_INTERACTIVE);
    expect(readEnvironment({}, '/home/rosa').kdf).toEqual(KDF_MODERATE);
    expect(homePaths(undefined, env).home).toBe('/home/rosa/.komrade');
    expect(homePaths('/tmp/k', env).keystore).toBe('/tmp/k/keystore.json');
    const viaEnv = readEnvironment({ KOMRADE_HOME: '/srv/k' }, '/home/rosa');
    expect(homePaths(undefined, viaEnv).store).toBe('/srv/k/komrade.db');
    expect(() => readEnvironment({ KOMRADE_KDF: 'weak' })).toThrow(
      expect.objectContaining({ code: 'USAGE' }) as Error,
    );
  });
});

describe('renderInbox', () => {
  const quiet: InboxCheck = {
    received: 0,
    posts: 0,
    requested: 0,
    collective: 0,
    rejected: 0,
    blocked: 0,
    duplicates: 0,
    unsolicited: 0,
    follows: 0,
    stale: 0,
    newFollowers: [],
    admitted: [],
    sessionResets: [],
  };

  it('says who now follows you and which collective admitted you', () => {
    const text = renderInbox(
      { ...quiet, follows: 1, newFollowers: ['bob'], admitted: ['garden'] },
      [],
      [],
    );
    expect(text).toContain('@bob now follows you.');
    expect(text).toContain('You are now a member of @garden.');
  });

  it('says whose sessions were reset, and whether to ask them to send again', () => {
    const text = renderInbox(
      {
        ...quiet,
        sessionResets: [
          { name: 'ana', lost: true },
          { name: 'ben', lost: false },
        ],
      },
      [],
      [],
    );
    expect(text).toContain(
      'A letter from @ana could not be opened here, so your session with them was reset. Ask them to send it again.',
    );
    expect(text).toContain("@ben's session was reset (they restored a backup or lost it).");
    expect(renderInbox(quiet, [], [])).not.toContain('session');
  });

  it('counts old or repeated letters it ignored, and stays quiet when there are none', () => {
    expect(renderInbox({ ...quiet, stale: 2 }, [], [])).toContain('2 old or repeated ignored');
    const none = renderInbox(quiet, [], []);
    expect(none).not.toContain('ignored');
    expect(none).not.toContain('follows you');
    expect(none).not.toContain('member of');
  });
});
