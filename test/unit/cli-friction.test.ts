/** The CLI's friction fixes as pure pieces: who is blamed for a failure, progress, prompts, hints. */
import { describe, expect, it } from 'vitest';
import { checkOperatorUrl } from '../../client/index.js';
import { hintFor } from '../../adapters/cli/hints.js';
import { explainOperatorFailure } from '../../adapters/cli/operator-failure.js';
import { Output } from '../../adapters/cli/output.js';
import {
  PASSPHRASE_TRIES,
  obtainPassphrase,
  withPassphrase,
  type PromptInput,
} from '../../adapters/cli/passphrase.js';
import { describePowProgress } from '../../adapters/cli/pow-progress.js';
import { readText } from '../../adapters/cli/read-text.js';
import { KomradeError } from '../../common/errors/index.js';
import { TorError } from '../../tor/index.js';

const ONION = checkOperatorUrl(`http://${'b'.repeat(56)}.onion`);
const LOOPBACK = checkOperatorUrl('http://127.0.0.1:8470');

function quietOutput() {
  const err: string[] = [];
  const output = new Output({
    stdout: { write: () => undefined },
    stderr: { write: (t: string) => err.push(t) },
  });
  return { output, err };
}

/**
 * A terminal on which a person types `lines`, one per prompt: each line arrives only once the
 * prompt has started listening, as typed keys do.
 */
function terminal(lines: readonly string[]): PromptInput & { prompts: number } {
  const queue = [...lines];
  let listener: ((chunk: string) => void) | undefined;
  const input = {
    prompts: 0,
    isTTY: true,
    setRawMode: () => undefined,
    setEncoding: () => undefined,
    on: (_event: 'data', l: (chunk: string) => void) => {
      listener = l;
    },
    off: () => {
      listener = undefined;
    },
    resume: () => {
      input.prompts++;
      const line = queue.shift();
      if (line === undefined) return;
      queueMicrotask(() => listener?.(`${line}\r`));
    },
    pause: () => undefined,
  };
  return input;
}

describe('who is blamed when the Operator cannot be reached', () => {
  it('tor answered but the onion did not: the Operator is not answering', () => {
    for (const reply of [0x04, 0x06, 0xf0, 0xf2]) {
      const error = new TorError('Tor could not connect', { transient: true, socksReply: reply });
      const explained = explainOperatorFailure(error, ONION);
      expect(explained).toMatchObject({
        code: 'OPERATOR_UNREACHABLE',
        message: expect.stringContaining(`The Operator at ${ONION.url} is not answering`) as string,
      });
    }
  });

  it('no tor on the SOCKS port, or a permanent SOCKS refusal: left as a Tor problem', () => {
    const noProxy = new TorError('no Tor SOCKS proxy is listening on the configured port', {
      transient: false,
    });
    expect(explainOperatorFailure(noProxy, ONION)).toBe(noProxy);
    const badAddress = new TorError('onion address is invalid', {
      transient: false,
      socksReply: 0xf6,
    });
    expect(explainOperatorFailure(badAddress, ONION)).toBe(badAddress);
  });

  it('a loopback port with nobody listening names the Operator; its answers pass unchanged', () => {
    const refused = new KomradeError('OPERATOR_UNREACHABLE', 'Could not reach the Operator.', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });
    expect(explainOperatorFailure(refused, LOOPBACK)).toMatchObject({
      code: 'OPERATOR_UNREACHABLE',
      message: expect.stringContaining('nothing listens on that port') as string,
    });
    const answer = new KomradeError('NAME_TAKEN', 'That name is already registered.');
    expect(explainOperatorFailure(answer, LOOPBACK)).toBe(answer);
    expect(explainOperatorFailure('not an error', LOOPBACK)).toBe('not an error');
  });

  it('hints: tor to start when a SOCKS port is set, tor to install when komrade launches it', () => {
    expect(hintFor('TOR_UNAVAILABLE', { torSocks: '127.0.0.1:9050' })).toContain('Start tor');
    expect(hintFor('TOR_UNAVAILABLE', {})).toContain('Install tor');
    expect(hintFor('OPERATOR_UNREACHABLE', { operatorUrl: ONION.url })).not.toContain('install');
  });
});

describe('hints name what the command named', () => {
  it('an unknown collective is not an unknown komrade', () => {
    expect(hintFor('NAME_UNKNOWN', { collective: 'portland' })).toContain(
      'komrade collective create @portland',
    );
    expect(hintFor('NAME_UNKNOWN', { name: 'bob' })).toContain('@bob');
    expect(hintFor('NOT_MEMBER', { collective: 'portland' })).toContain(
      'komrade collective join @portland',
    );
    expect(hintFor('COLLECTIVE_RULE', {})).not.toContain('@NAME');
  });
});

describe('proof-of-work progress', () => {
  it('shows time and a typical duration, never a percentage, even past the average', () => {
    const early = describePowProgress({ tried: 65_536, expected: 1_048_576 }, 2_000);
    expect(early).toMatch(/Proof of work: 2 s so far \(usually about 32 s on this machine\)/);
    const unlucky = describePowProgress({ tried: 4_194_304, expected: 1_048_576 }, 40_000);
    expect(unlucky).toContain('some take longer');
    expect(unlucky).not.toContain('%');
    // Nothing measured yet: no estimate, no division by zero.
    expect(describePowProgress({ tried: 0, expected: 1_048_576 }, 0)).toBe(
      '| Proof of work: 0 s so far',
    );
  });
});

describe('passphrase prompts', () => {
  it(`gives ${PASSPHRASE_TRIES} tries at a wrong passphrase, then reports the last failure`, async () => {
    const { output, err } = quietOutput();
    const input = terminal(['one', 'two', 'right']);
    const tried: string[] = [];
    const opened = await withPassphrase({ fromEnv: undefined, input, output }, (p) => {
      tried.push(p);
      return p === 'right'
        ? Promise.resolve('open')
        : Promise.reject(new KomradeError('WRONG_PASSPHRASE', 'Wrong passphrase.'));
    });
    expect(opened).toBe('open');
    expect(tried).toEqual(['one', 'two', 'right']);
    expect(err.join('')).toContain('2 tries left');
    expect(err.join('')).toContain('1 try left');

    const never = terminal(['a', 'b', 'c', 'd']);
    await expect(
      withPassphrase({ fromEnv: undefined, input: never, output }, () =>
        Promise.reject(new KomradeError('WRONG_PASSPHRASE', 'Wrong passphrase.')),
      ),
    ).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(never.prompts).toBe(PASSPHRASE_TRIES);
  });

  it('gives KOMRADE_PASSPHRASE one try, and other failures none', async () => {
    const { output } = quietOutput();
    let calls = 0;
    const wrong = () => {
      calls++;
      return Promise.reject(new KomradeError('WRONG_PASSPHRASE', 'Wrong passphrase.'));
    };
    await expect(
      withPassphrase({ fromEnv: 'from the env', input: terminal([]), output }, wrong),
    ).rejects.toMatchObject({ code: 'WRONG_PASSPHRASE' });
    expect(calls).toBe(1);
    const corrupt = terminal(['x', 'y']);
    await expect(
      withPassphrase({ fromEnv: undefined, input: corrupt, output }, () =>
        Promise.reject(new KomradeError('KEYSTORE_CORRUPT', 'Corrupt.')),
      ),
    ).rejects.toMatchObject({ code: 'KEYSTORE_CORRUPT' });
    expect(corrupt.prompts).toBe(1);
  });

  it('checks a new passphrase for length before asking for it again', async () => {
    const { output, err } = quietOutput();
    const input = terminal(['short', 'long enough words', 'long enough words']);
    expect(await obtainPassphrase({ fromEnv: undefined, input, output, confirm: true })).toBe(
      'long enough words',
    );
    expect(input.prompts).toBe(3);
    expect(err.join('')).toContain('at least 8 characters');

    const hopeless = terminal(['a', 'b', 'c']);
    await expect(
      obtainPassphrase({ fromEnv: undefined, input: hopeless, output, confirm: true }),
    ).rejects.toMatchObject({ code: 'USAGE' });
    expect(hopeless.prompts).toBe(PASSPHRASE_TRIES);
  });
});

describe('typing a letter at a terminal', () => {
  it('reads until Ctrl-D after saying how to end; without a prompt a terminal is refused', async () => {
    async function* typed() {
      await Promise.resolve();
      yield 'line one\n';
      yield 'line two\n';
    }
    const prompts: string[] = [];
    const stdin = Object.assign(typed(), { isTTY: true });
    expect(await readText([], stdin, (t) => prompts.push(t))).toBe('line one\nline two');
    expect(prompts.join('')).toContain('Ctrl-D');
    await expect(readText([], Object.assign(typed(), { isTTY: true }))).rejects.toMatchObject({
      code: 'USAGE',
    });
  });
});
