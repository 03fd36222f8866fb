/** What the Telegram bot says when it cannot start: Telegram's own answer, and what to do. */
import { GrammyError, HttpError } from 'grammy';

/**
 * Describes why the bot could not start, from the Bot API's answer (never the token: grammY's
 * errors name the method, not the URL).
 * @param apiRoot - the Bot API root the bot used, named when it cannot be reached
 */
export function describeStartFailure(error: unknown, apiRoot: string): string {
  if (error instanceof GrammyError) {
    const answer = `Telegram answered ${error.method} with ${error.error_code} "${error.description}"`;
    switch (error.error_code) {
      case 401:
      case 404:
        // Telegram answers 404 to a token of the right shape that no bot has.
        return (
          `The bot could not start: ${answer}, so it refused the bot token. Check the token ` +
          'telegram.token points to (default: env KOMRADE_TELEGRAM_TOKEN) against @BotFather.'
        );
      case 409:
        return (
          `The bot could not start: ${answer}. Another process polls this bot or a webhook is ` +
          'set: stop the other one (one process per token).'
        );
      default:
        return `The bot could not start: ${answer}.`;
    }
  }
  if (error instanceof HttpError) {
    const cause = error.error as { cause?: { code?: unknown } } | undefined;
    const code = typeof cause?.cause?.code === 'string' ? ` (${cause.cause.code})` : '';
    return (
      `The bot could not start: the Telegram Bot API at ${apiRoot} cannot be reached${code}. ` +
      'Check the network, or telegram.apiRoot.'
    );
  }
  return 'The bot could not start.';
}
