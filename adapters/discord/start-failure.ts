/** What the Discord bot says when it cannot start: Discord's own answer, and what to do. */
import { DiscordAPIError } from 'discord.js';

/** What to do about the discord.js errors a start can end with, by their code. */
const HINTS: Partial<Record<string, string>> = {
  TokenInvalid:
    'Check the token discord.token points to (default: env KOMRADE_DISCORD_TOKEN): Developer ' +
    'Portal → Bot → Reset Token.',
  DisallowedIntents:
    'Switch on the privileged "Message Content Intent" for the bot in the Developer Portal.',
};

/**
 * Describes why the bot could not start, from Discord's answer (discord.js errors name the problem,
 * e.g. "An invalid token was provided.", never the token).
 */
export function describeStartFailure(error: unknown): string {
  if (error instanceof DiscordAPIError) {
    return (
      `The bot could not start: Discord answered ${error.method.toUpperCase()} with ` +
      `${error.status} "${error.message}".`
    );
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    const hint = HINTS[error.code];
    return (
      `The bot could not start: ${error.message} (${error.code})` +
      (hint === undefined ? '.' : `. ${hint}`)
    );
  }
  return 'The bot could not start.';
}
