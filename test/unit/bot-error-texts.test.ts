/** What the bots answer to a blank text and to a letter to oneself. */
import { describe, expect, it } from 'vitest';
import { errorMessage as discordError } from '../../adapters/discord/texts.js';
import { errorMessage as telegramError } from '../../adapters/telegram/texts.js';
import { checkMessageText, refuseSelfLetter } from '../../client/core/message-text.js';

const thrown = (run: () => void): unknown => {
  try {
    run();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
};

describe('bot answers', () => {
  it.each([
    ['telegram', telegramError],
    ['discord', discordError],
  ])('%s says what to do about a blank text and a letter to yourself', (_, render) => {
    const blank = thrown(() => {
      checkMessageText(' \n', 'letter', 100, 'LETTER_TOO_LARGE');
    });
    expect(blank).toMatchObject({ code: 'EMPTY_MESSAGE' });
    expect(render(blank)).toMatch(/nothing to send: write some text/);
    const self = thrown(() => {
      refuseSelfLetter('alice', 'alice');
    });
    expect(self).toMatchObject({ code: 'USAGE' });
    expect(render(self)).toMatch(/cannot send a letter to yourself/);
  });

  it('accepts visible text, even with surrounding spaces', () => {
    expect(() => {
      checkMessageText('  hi  ', 'post', 100, 'POST_INVALID');
    }).not.toThrow();
    expect(() => {
      checkMessageText('👍', 'letter', 100, 'LETTER_TOO_LARGE');
    }).not.toThrow();
    expect(() => {
      refuseSelfLetter('alice', 'bob');
    }).not.toThrow();
  });
});
