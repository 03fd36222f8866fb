/** Rendering the kit's rich text: what each style must escape, and commands as each surface types them. */
import { describe, expect, it } from 'vitest';
import {
  COLLECTIVE_COMMANDS,
  IDENTITY_COMMANDS,
  bare,
  command,
  discordMarkdown,
  lines,
  name,
  plainText,
  render,
  strong,
  telegramHtml,
  untrusted,
  verbatim,
  type Rich,
  type Surface,
  type TextStyle,
} from '../../bridge/index.js';

const about = { greeting: 'Hi', help: 'Komrade' };
const commands = [...IDENTITY_COMMANDS, ...COLLECTIVE_COMMANDS];
const surfaceOf = (style: TextStyle, syntax: 'words' | 'options'): Surface => ({
  style,
  syntax,
  channelLinks: syntax === 'options',
  commands,
  ...(syntax === 'words' ? { rename: { create: 'create_collective' } } : {}),
  textLimit: 2000,
  about,
});
const plain = surfaceOf(plainText, 'words');
const html = surfaceOf(telegramHtml, 'words');
const discord = surfaceOf(discordMarkdown, 'options');

const HOSTILE_LINE = 'a *b* _c_ `d` ~~e~~ ||f|| \\g';

/** Whether `text` has `mark` not preceded by a backslash (a mark Discord would act on). */
const unescaped = (text: string, mark: string): boolean =>
  new RegExp(`(^|[^\\\\])${mark.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`, 'm').test(text);

describe('Discord markdown', () => {
  it('escapes inline marks in our words and in names', () => {
    expect(render(HOSTILE_LINE, discord)).toBe(
      'a \\*b\\* \\_c\\_ \\`d\\` \\~\\~e\\~\\~ \\|\\|f\\|\\| \\\\g',
    );
    expect(render(name('port_land'), discord)).toBe('@port\\_land');
  });

  it('escapes headings, quotes and list marks at the start of a line only', () => {
    const text = render('# big\n> quote\n- item\n  >>> all\nsafe # - > here', discord);
    expect(text).toBe('\\# big\n\\> quote\n\\- item\n  \\>>> all\nsafe # - > here');
  });

  it('lets no masked link or mention come of our words (they can carry an Operator message)', () => {
    const text = render('see [the docs](https://evil.example) or <@123> <#456>', discord);
    expect(text).not.toMatch(/\]\(/);
    expect(unescaped(text, '<')).toBe(false);
  });

  it('makes untrusted words one bounded line with nothing markup or mentions can use', () => {
    const note = [
      '# Heading',
      '> quote **bold** [click](https://evil.example) <@123> <@&9> `code`',
      'evil\u202Etxt.exe zero\u200Bwidth\uFEFF',
      'x'.repeat(10_000),
    ].join('\n');
    const text = render(untrusted(note), discord);
    expect(text).not.toContain('\n');
    expect(text.startsWith('\\#')).toBe(true);
    // An escaped `[` undoes a masked link.
    expect(text).toContain('\\[click](https://evil.example)');
    for (const mark of ['**', '[', '<', '`', '\u202E', '\u200B', '\uFEFF'])
      expect(unescaped(text, mark), mark).toBe(false);
    // Bounded: 200 characters as read, plus the escapes.
    expect(text.length).toBeLessThan(260);
    expect(text.endsWith('…')).toBe(true);
  });

  it('keeps a message’s own words as written (messages go out with mentions off)', () => {
    const letter = '**hi** [x](y) <@123>\n# title';
    expect(render(verbatim(letter), discord)).toBe(letter);
  });

  it('writes strong text and commands in their own marks', () => {
    expect(render(strong(['a', name('b')]), discord)).toBe('**a@b**');
    // A backtick in a command could close its code span.
    expect(render(command('say', { collective: 'p', text: 'x`y' }), discord)).toBe(
      "`/say text:x'y collective:p`",
    );
  });
});

describe('Telegram HTML', () => {
  it('escapes every tag and entity in our words, names and untrusted words', () => {
    expect(render('<b>bold</b> & &amp; <a href="x">y</a>', html)).toBe(
      '&lt;b&gt;bold&lt;/b&gt; &amp; &amp;amp; &lt;a href="x"&gt;y&lt;/a&gt;',
    );
    expect(render(untrusted('<b>hi</b>\n& <i>bye</i>'), html)).toBe(
      '&lt;b&gt;hi&lt;/b&gt; &amp; &lt;i&gt;bye&lt;/i&gt;',
    );
  });

  it('escapes a message’s own words too, keeping their lines', () => {
    expect(render(verbatim('<b>hi</b>\n& bye'), html)).toBe('&lt;b&gt;hi&lt;/b&gt;\n&amp; bye');
  });

  it('marks strong text and commands with its own tags only', () => {
    expect(render(strong(['a<b', name('x')]), html)).toBe('<b>a&lt;b@x</b>');
    expect(render(command('say', { collective: 'p', text: '<i>' }), html)).toBe(
      '<code>/say p &lt;i&gt;</code>',
    );
  });
});

describe('plain text', () => {
  it('keeps our words and a message’s own words as they are', () => {
    expect(render(HOSTILE_LINE, plain)).toBe(HOSTILE_LINE);
    expect(render(verbatim('line 1\n\u202Eline 2'), plain)).toBe('line 1\n\u202Eline 2');
  });

  it('still makes untrusted words one bounded line without controls or invisible marks', () => {
    const text = render(untrusted(`a\nb\r\nc\u202Ed\u200Be\u0000f ${'w'.repeat(10_000)}`), plain);
    expect(text.startsWith('a b c d e f w')).toBe(true);
    expect(text).not.toMatch(/[\n\r\u0000\u200b\u202e]/);
    expect(Array.from(text).length).toBeLessThanOrEqual(200);
  });
});

describe('commands in text', () => {
  const both = (rich: Rich) => [render(rich, plain), render(rich, discord)];

  it('are written in each surface’s syntax, renamed where the surface renames them', () => {
    expect(both(command('create', { collective: 'portland' }))).toEqual([
      '/create_collective portland',
      '`/create collective:portland`',
    ]);
    expect(both(command('vouch'))).toEqual([
      '/vouch NAME @candidate',
      '`/vouch candidate:NAME [collective:NAME]`',
    ]);
    expect(both(bare('create'))).toEqual(['/create_collective', '`/create`']);
    expect(both(command('propose-window', { collective: 'p', days: '3' }))).toEqual([
      '/propose p window 3',
      '`/propose window days:3 collective:p`',
    ]);
  });

  it('are named, never invented, when the surface does not offer them', () => {
    expect(both(command('link', { collective: 'p' }))).toEqual(['/link', '`/link`']);
  });

  it('join into lines as parts', () => {
    expect(render(lines('a', undefined, ['b', name('c')]), plain)).toBe('a\nb@c');
  });
});
