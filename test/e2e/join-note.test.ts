/**
 * A join request's note reaches the members who decide on it, as untrusted text: the CLI's
 * `collective pending` (text and `--json`), and `/pending` on Telegram and on Discord. Real bots
 * against their emulators, a real Redis, a real Operator, the CLI's commands.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { slash } from '../support/discord-bridge.js';
import { telegramUser } from '../support/telegram-bridge.js';
import { useChatsAndCli } from '../support/use-chats-and-cli.js';

const tina = telegramUser('Tina');
// The CLI runs in this process: its komrades register once the bots' users have.
const all = useChatsAndCli({
  guild: 'Union',
  telegram: { tina },
  cli: ['carl', 'cleo', 'nat'],
  cliPrefix: 'komrade-join-note-',
});
const { cli } = all;

// Markdown, a link, a role mention, terminal escapes, a bell, a line break, a right-to-left
// override, and more than a screenful: everything a note must not do to whoever reads it.
const NOTE =
  `**Rosa** [vote here](http://evil.example) <@&42>\u001b[2J\u0007 from\nthe\u202Eunion ` +
  `${'w'.repeat(400)} END`;
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e]/;

/** The shown note: one quoted line with the candidate's words as `expected` shows them, cut. */
function expectBoundedNote(shown: string, expected: readonly string[]): void {
  const line = shown.split('\n').find((l) => l.includes('Rosa'));
  expect(line, `no note line in:\n${shown}`).toBeDefined();
  for (const part of expected) expect(line).toContain(part);
  expect(line).not.toMatch(UNSAFE);
  expect(line).toMatch(/…”$/);
  expect(line).not.toContain('END');
  expect(line?.length).toBeLessThanOrEqual(240);
  expect(shown).toContain('from the union www');
}

beforeAll(async () => {
  await cli('carl', ['collective', 'create', '@union', '--founder', '@tina', '--founder', '@dana']);
});

describe('the join note', () => {
  it('is shown by pending on the CLI, Telegram and Discord, as one safe bounded line', async () => {
    const { stack, discord, lobby, dana } = all;
    await cli('cleo', ['collective', 'join', '@union', '--note', NOTE]);
    await cli('nat', ['collective', 'join', '@union']);

    const json = JSON.parse(await cli('carl', ['collective', 'pending', '@union', '--json'])) as {
      pending: { candidate: string; note: string }[];
    };
    // JSON carries the note as written (JSON escapes what needs escaping).
    expect(json.pending.find((p) => p.candidate === 'cleo')?.note).toBe(NOTE);
    expect(json.pending.find((p) => p.candidate === 'nat')?.note).toBe('');

    const text = await cli('carl', ['collective', 'pending', '@union']);
    expectBoundedNote(text, ['    “**Rosa** [vote here](http://evil.example) <@&42> [2J from']);
    // A candidate without a note gets no empty quote.
    expect(text).not.toContain('“”');

    const telegram = await stack.emulator.ask(tina, '/pending union', /Waiting to join @union/);
    // Plain text: the bot sends no parse mode, so the words stay as written.
    expectBoundedNote(telegram.text, ['“**Rosa** [vote here](http://evil.example) <@&42> [2J']);

    const reply = await slash(discord, lobby.id, dana, 'pending', { collective: 'union' });
    expect(reply.content).toContain('Waiting to join @union');
    // Markdown, the masked link and the mention are escaped, so Discord shows them as typed.
    expectBoundedNote(reply.content, ['“\\*\\*Rosa\\*\\* \\[vote here]', '\\<@&42>']);
  });
});
