/**
 * A candidate hears they are in, whoever vouched and from whichever client: a Telegram and a
 * Discord candidate vouched in by a member on the `komrade` command, and a CLI candidate vouched in
 * from Telegram. Real bots against their emulators, a real Redis, a real Operator, the real CLI.
 */
import { describe, expect, it } from 'vitest';
import { slash } from '../support/discord-bridge.js';
import { telegramUser } from '../support/telegram-bridge.js';
import { useChatsAndCli } from '../support/use-chats-and-cli.js';

const tina = telegramUser('Tina');
const tom = telegramUser('Tom');
const all = useChatsAndCli({
  guild: 'Cooks',
  telegram: { tina, tom },
  cli: ['carl', 'cleo'],
  cliPrefix: 'komrade-admission-',
  // The built CLI as child processes: its key derivation never holds up the bots in this process.
  cliAsProcesses: true,
});
const { cli } = all;

/** What `komrade inbox --json` says was admitted in this check. */
async function admittedOnInbox(who: string): Promise<unknown> {
  const out = JSON.parse(await cli(who, ['inbox', '--json'])) as {
    checked: { admitted?: unknown };
  };
  return out.checked.admitted;
}

const IN_KITCHEN = /vouched for you: you are now a member of @kitchen\./;

describe('admission notices', () => {
  it('tells a Telegram and a Discord candidate, once, when a CLI member vouches them in', async () => {
    const { stack, discord, bridge, lobby, dana } = all;
    expect(await cli('carl', ['collective', 'create', '@kitchen'])).toContain('Created @kitchen');
    await stack.emulator.ask(tina, '/join kitchen I bake bread', /Asked to join @kitchen/);
    const joined = await slash(discord, lobby.id, dana, 'join', { collective: 'kitchen' });
    expect(joined.content).toContain('Asked to join @kitchen');

    // Not in yet: a poll says nothing.
    await stack.bridge.settle([tina]);
    await bridge.settle([dana]);
    expect(stack.emulator.botMessages(tina.id).filter((m) => IN_KITCHEN.test(m.text))).toEqual([]);

    expect(await cli('carl', ['collective', 'vouch', '@kitchen', '@tina'])).toContain(
      '@tina is a member of @kitchen',
    );
    expect(await cli('carl', ['collective', 'vouch', '@kitchen', '@dana'])).toContain(
      '@dana is a member of @kitchen',
    );

    await stack.bridge.settle([tina]);
    const told = await stack.emulator.waitForBotMessage(tina.id, IN_KITCHEN);
    expect(told.text).toMatch(/^@carl vouched for you: you are now a member of @kitchen\./);
    await bridge.settle([dana]);
    await discord.waitForDm(dana.id, (m) => IN_KITCHEN.test(m.content), 15_000);

    // Told once: later polls stay quiet.
    await stack.bridge.settle([tina]);
    await bridge.settle([dana]);
    expect(stack.emulator.botMessages(tina.id).filter((m) => IN_KITCHEN.test(m.text))).toHaveLength(
      1,
    );
    expect(discord.dms(dana.id).filter((m) => IN_KITCHEN.test(m.content))).toHaveLength(1);
  });

  it("says so in a CLI candidate's inbox when a Telegram member vouches them in", async () => {
    const { stack } = all;
    await stack.emulator.ask(tom, '/create_collective garden', /Created @garden/);
    expect(
      await cli('cleo', ['collective', 'join', '@garden', '--note', 'I grow beans']),
    ).toContain('Asked to join @garden');
    expect(await admittedOnInbox('cleo')).toEqual([]);

    await stack.emulator.ask(tom, '/vouch garden @cleo', /@cleo is now a member of @garden/);
    expect(await admittedOnInbox('cleo')).toEqual(['garden']);
    // Once only.
    expect(await admittedOnInbox('cleo')).toEqual([]);
  });
});
