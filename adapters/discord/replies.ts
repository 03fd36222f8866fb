/**
 * Answering a slash command: always privately (ephemeral), split at Discord's limit, with
 * mentions off. Anything that reaches the Operator is deferred first, since Discord drops an
 * interaction not acknowledged within 3 seconds.
 */
import { MessageFlags, type ChatInputCommandInteraction } from 'discord.js';
import { say, type BridgeEngine, type View, type WorkingUsers } from '../../bridge/index.js';
import { discordSurface, splitForDiscord } from './discord-surface-kit.js';

export type Interaction = ChatInputCommandInteraction;

export const NO_MENTIONS = { parse: [] } as const;

/** The key the engine knows a Discord user's identity by (kept only in the bridge store). */
export const userKey = (userId: string) => `discord:${userId}`;

/**
 * The interaction a command acts on, as the engine records it: should Discord hand it over again
 * (a reconnection replaying events), the engine acts on it once.
 */
export const eventOf = (i: Interaction) => ({ event: `discord:${i.id}` });

/** Thrown inside a handler to answer with these words instead of an error. */
export class Answer extends Error {
  constructor(readonly text: string) {
    super('answer');
  }
}

/** An {@link Answer} with the kit's words for `view`. */
export const answerView = (view: View): Answer => new Answer(say(view, discordSurface));

/** Answers privately: the reply (or the deferred reply's edit), then follow-ups if long. */
export async function answer(i: Interaction, text: string): Promise<void> {
  const [first = '', ...rest] = splitForDiscord(text);
  if (i.deferred || i.replied) {
    await i.editReply({ content: first, allowedMentions: NO_MENTIONS });
  } else {
    await i.reply({ content: first, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
  }
  for (const chunk of rest) {
    await i.followUp({
      content: chunk,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_MENTIONS,
    });
  }
}

/** Acknowledges at once (privately), so the work may take longer than Discord waits. */
export async function deferPrivately(i: Interaction): Promise<void> {
  if (!i.deferred && !i.replied) await i.deferReply({ flags: MessageFlags.Ephemeral });
}

/** Acknowledges at once, does the work, answers with its result. */
export async function work(i: Interaction, run: () => Promise<string>): Promise<void> {
  await deferPrivately(i);
  await answer(i, await run());
}

/**
 * The user's registered identity, for the Discord-only commands (the kit checks its own).
 * @throws an {@link Answer} saying what to do first (or to wait for a registration running)
 */
export function registeredIdentity(
  engine: BridgeEngine,
  working: WorkingUsers,
  i: Interaction,
): { id: string; name: string } {
  const key = userKey(i.user.id);
  const found = engine.identityOf(key);
  if (found === undefined) throw answerView({ kind: 'no-identity' });
  if (found.name === null) {
    throw answerView({ kind: working.has(key) ? 'busy' : 'not-registered' });
  }
  return { id: found.id, name: found.name };
}
