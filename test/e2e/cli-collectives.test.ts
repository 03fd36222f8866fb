/** `komrade collective …` end to end: the CLI's commands, one home each, a real Operator. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  initAndRegister,
  runKomradeInProcess,
  runKomradeOkInProcess,
  type CliRun,
} from '../support/komrade-cli.js';
import { startOperatorProcess, type OperatorProcess } from '../support/operator-process.js';

let operator: OperatorProcess;
let dir: string;

const home = (name: string) => join(dir, name);

const komrade = (who: string, args: readonly string[], input?: string): Promise<CliRun> =>
  runKomradeInProcess(args, { home: home(who), ...(input === undefined ? {} : { input }) });

async function ok(who: string, args: readonly string[], input?: string): Promise<string> {
  const run = await runKomradeOkInProcess(args, {
    home: home(who),
    ...(input === undefined ? {} : { input }),
  });
  return run.stdout;
}

/** Runs a command that must fail with exit code `code`, saying `says` on stderr. */
async function fails(
  who: string,
  args: readonly string[],
  code: number,
  says: string,
): Promise<CliRun> {
  const run = await komrade(who, args);
  expect(run.code).toBe(code);
  expect(run.stderr).toContain(says);
  return run;
}

const json = (text: string): unknown => JSON.parse(text);

beforeAll(async () => {
  operator = await startOperatorProcess({ powBits: 6 });
  dir = mkdtempSync(join(tmpdir(), 'komrade-cli-collectives-'));
  await Promise.all(
    ['alice', 'bob', 'carol', 'dave', 'eve'].map((who) =>
      initAndRegister(home(who), who, operator.url),
    ),
  );
}, 90_000);
afterAll(async () => {
  await operator.cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('komrade collective', () => {
  it('creates, admits by vouching, amends by vote, and carries messages', async () => {
    const created = await komrade('alice', [
      'collective',
      'create',
      '@portland',
      '--founder',
      '@bob',
    ]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain('Created @portland with @alice, @bob.');
    expect(created.stderr).toContain('proof of work');

    expect(
      await ok('carol', ['collective', 'join', '@portland', '--note', 'tenants union']),
    ).toContain('Asked to join @portland');
    expect(await ok('alice', ['collective', 'pending', '@portland'])).toContain(
      '@carol 0/1 vouches',
    );
    expect(await ok('alice', ['collective', 'vouch', '@portland', '@carol'])).toContain(
      '@carol is a member of @portland (1/1 vouches).',
    );
    const members = json(await ok('bob', ['collective', 'members', '@portland', '--json'])) as {
      members: { name: string; keyHolder: string }[];
    };
    expect(members.members.map((m) => m.name)).toEqual(['alice', 'bob', 'carol']);
    expect(await ok('bob', ['collective', 'members', '@portland'])).toContain(
      '3 members of @portland:',
    );
    const rules = await ok('carol', ['collective', 'constitution', '@portland']);
    expect(rules).toContain('quorum to admit:   1 vouch while there are at most 5 members');
    expect(rules).toContain('(now 1 of 3)');
    expect(rules).toContain('voting window:     7 days');

    // Raise the quorum to two vouches.
    const proposal = json(
      await ok('carol', ['collective', 'propose', '@portland', '--quorum', '2', '--json']),
    ) as { id: number; required: number };
    expect(proposal.required).toBe(2);
    expect(await ok('alice', ['collective', 'proposals', '@portland'])).toContain(
      `#${proposal.id} by @carol: amend the constitution: quorum: 2 vouches`,
    );
    expect(
      await ok('alice', ['collective', 'vote', '@portland', String(proposal.id), 'yes']),
    ).toContain('yes 1, no 0, 2 yes needed');
    expect(
      await ok('bob', ['collective', 'vote', '@portland', String(proposal.id), 'yes']),
    ).toContain('is enacted');
    const constitution = json(
      await ok('carol', ['collective', 'constitution', '@portland', '--json']),
    ) as { constitution: { quorum: unknown } };
    expect(constitution.constitution.quorum).toEqual({ fixed: 2 });

    // Dave now needs two vouches.
    await ok('dave', ['collective', 'join', '@portland']);
    expect(await ok('alice', ['collective', 'vouch', '@portland', '@dave'])).toContain(
      'Vouched for @dave in @portland: 1/2 vouches.',
    );
    expect(await ok('bob', ['collective', 'pending', '@portland'])).toContain(
      '@dave 1/2 vouches (@alice)',
    );
    await ok('bob', ['collective', 'vouch', '@portland', '@dave']);
    expect(await ok('dave', ['collective', 'show', '@portland'])).toContain(
      '@portland: you are a member.',
    );

    // Messages, from the command line and from stdin.
    expect(
      await ok('alice', ['collective', 'send', '@portland', 'Assembly', 'on', 'Sunday.']),
    ).toContain('Sent to @portland (3 member(s) besides you).');
    await ok('bob', ['collective', 'send', '@portland'], 'I bring the banner.\n');
    const read = await ok('carol', ['collective', 'read', '@portland']);
    expect(read).toContain('2 new collective message(s)');
    expect(read).toMatch(/@alice · \d{4}-\d\d-\d\d \d\d:\d\d UTC\n {2}Assembly on Sunday\./);
    expect(read).toContain('I bring the banner.');
    const mine = json(await ok('alice', ['collective', 'read', '@portland', '--json'])) as {
      messages: { from: string; text: string }[];
    };
    expect(mine.messages.map((m) => [m.from, m.text])).toEqual([
      ['alice', 'Assembly on Sunday.'],
      ['bob', 'I bring the banner.'],
    ]);
    expect(await ok('alice', ['collective', 'read', '@portland'])).toContain('You · ');
    expect(await ok('carol', ['collective', 'list'])).toBe('@portland\n');

    expect(await ok('carol', ['collective', 'leave', '@portland'])).toContain(
      'You left @portland.',
    );
    expect(await ok('carol', ['collective', 'show', '@portland'])).toContain(
      'you are not a member',
    );
  }, 240_000);

  it('explains bad input and refusals, with the right exit codes', async () => {
    const maybe = await fails(
      'alice',
      ['collective', 'vote', '@portland', '1', 'maybe'],
      2,
      'Error [USAGE]',
    );
    expect(maybe.stderr).toContain('Expected yes or no.');

    await fails('alice', ['collective', 'propose', '@portland'], 2, 'Say what to change');

    const both = ['collective', 'propose', '@portland', '--quorum', '2', '--remove', '@bob'];
    await fails('alice', both, 2, 'not both');

    const fraction = ['collective', 'propose', '@portland', '--quorum-fraction', '5/4'];
    await fails('alice', fraction, 2, '--quorum-fraction takes a fraction');

    const outsider = await komrade('eve', ['collective', 'members', '@portland', '--json']);
    expect(outsider.code).toBe(1);
    expect(outsider.stdout).toBe('');
    const error = json(outsider.stderr.trim().split('\n').at(-1) ?? '') as {
      error: { code: string; hint?: string };
    };
    expect(error.error.code).toBe('NOT_MEMBER');
    expect(error.error.hint).toContain('komrade collective join');

    await fails('eve', ['collective', 'vouch', '@portland', '@eve'], 1, 'NOT_MEMBER');
    await fails('alice', ['collective', 'show', '@no such'], 1, 'NAME_INVALID');
  }, 60_000);
});
