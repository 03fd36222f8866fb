/** The kit's command syntax: words after `/cmd`, options of a slash command, and usage lines. */
import { describe, expect, it } from 'vitest';
import {
  COLLECTIVE_COMMANDS,
  IDENTITY_COMMANDS,
  parseOptions,
  parseWords,
  writeCommand,
  type ArgSpec,
  type CommandSpec,
  type ParsedCommand,
  type RawArg,
} from '../../bridge/index.js';

const ALL = [...IDENTITY_COMMANDS, ...COLLECTIVE_COMMANDS];
const typedAlike = (typed: string): CommandSpec[] =>
  ALL.filter((spec) => (spec.typed ?? spec.name) === typed);
const spec = (name: string): CommandSpec => {
  const found = ALL.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no kit command ${name}`);
  return found;
};

/** Like the letters' `post`: an optional number of days, then the text. */
const POST: CommandSpec = {
  name: 'post',
  summary: 'Post to your followers',
  args: [
    {
      name: 'days',
      kind: 'days',
      description: 'Days',
      placeholder: '3d',
      optional: true,
      min: 1,
      max: 30,
    },
    { name: 'text', kind: 'text', description: 'What to post', placeholder: 'text' },
  ],
  needs: 'registered',
  run: () => ({ kind: 'busy' }),
};

const words = (typed: string, text: string): ParsedCommand => parseWords(typedAlike(typed), text);

function parsed(result: ParsedCommand): { command: string; args: unknown } {
  if (!result.ok) throw new Error(`parse failed: ${JSON.stringify(result.problem)}`);
  return { command: result.spec.name, args: result.args };
}

/** The failed argument's name and the problem's code (`-` when none). */
function problem(result: ParsedCommand): string {
  if (result.ok) throw new Error(`parsed as ${result.spec.name}`);
  return `${result.problem.arg?.name ?? '-'}:${result.problem.error?.code ?? '-'}`;
}

describe('parseWords', () => {
  it('reads names folded, with or without @', () => {
    expect(parsed(words('vouch', '  Portland   @DAVE '))).toEqual({
      command: 'vouch',
      args: { collective: 'portland', candidate: 'dave' },
    });
    expect(parsed(words('vouch', 'portland dave')).args).toEqual({
      collective: 'portland',
      candidate: 'dave',
    });
  });

  it('skips an optional argument whose word does not fit, leaving the word to the next one', () => {
    expect(parsed(parseWords([POST], '3d hello there')).args).toEqual({
      days: 3,
      text: 'hello there',
    });
    expect(parsed(parseWords([POST], 'hello there')).args).toEqual({ text: 'hello there' });
    // Out of bounds is "does not fit" too: the word is the text's.
    expect(parsed(parseWords([POST], '99d later')).args).toEqual({ text: '99d later' });
    expect(problem(parseWords([POST], '3d'))).toMatch(/^text:/);
  });

  it('keeps free text as typed: inner spacing and line breaks, outer blanks trimmed', () => {
    expect(parsed(words('join', 'portland I organize  the food bank')).args).toEqual({
      collective: 'portland',
      note: 'I organize  the food bank',
    });
    expect(parsed(words('say', 'portland  line one\n   line two\n')).args).toEqual({
      collective: 'portland',
      text: 'line one\n   line two',
    });
    // The optional note may be left out.
    expect(parsed(words('join', 'portland')).args).toEqual({ collective: 'portland' });
  });

  it('picks among the commands typed alike by their keyword', () => {
    expect(parsed(words('propose', 'portland quorum 2'))).toEqual({
      command: 'propose-quorum',
      args: { collective: 'portland', vouches: 2 },
    });
    expect(parsed(words('propose', 'portland WINDOW 7'))).toEqual({
      command: 'propose-window',
      args: { collective: 'portland', days: 7 },
    });
    expect(parsed(words('propose', 'portland remove @Dave'))).toEqual({
      command: 'propose-remove',
      args: { collective: 'portland', member: 'dave' },
    });
  });

  it("tells the problem of the command whose keyword matched, not another's", () => {
    expect(problem(words('propose', 'portland window 0'))).toBe('days:USAGE');
    expect(problem(words('propose', 'portland window 367'))).toBe('days:USAGE');
    expect(problem(words('propose', 'portland quorum many'))).toBe('vouches:USAGE');
    expect(problem(words('propose', 'portland remove @dаve'))).toBe('member:NAME_INVALID');
    // No keyword at all: no command was meant, so no argument is blamed.
    expect(problem(words('propose', 'portland frobnicate 2'))).toBe('-:-');
  });

  it('reads #7 as 7 and y/n as yes/no', () => {
    expect(parsed(words('vote', 'portland #7 Y')).args).toEqual({
      collective: 'portland',
      proposal: 7,
      choice: 'yes',
    });
    expect(parsed(words('vote', 'portland 12 n')).args).toEqual({
      collective: 'portland',
      proposal: 12,
      choice: 'no',
    });
    expect(problem(words('vote', 'portland #7 maybe'))).toBe('choice:USAGE');
    expect(problem(words('vote', 'portland ## yes'))).toBe('proposal:USAGE');
    expect(problem(words('vote', 'portland -1 yes'))).toBe('proposal:USAGE');
    expect(problem(words('vote', 'portland 1.5 yes'))).toBe('proposal:USAGE');
  });

  it('fails on leftover words rather than dropping them', () => {
    expect(problem(words('vouch', 'portland @dave @erin'))).toBe('-:-');
    expect(problem(words('whoami', 'now'))).toBe('-:-');
    expect(problem(words('collectives', 'portland'))).toBe('-:-');
    expect(problem(words('vote', 'portland 7 yes please'))).toBe('-:-');
  });

  it('refuses look-alike and malformed names, naming the argument', () => {
    // Cyrillic а, Greek ο, a fullwidth letter, a zero-width space inside.
    for (const name of ['dаve', 'pοrtland', 'ｄave', 'da\u200bve', 'd@ve', 'dave!']) {
      expect(problem(words('vouch', `portland ${name}`)), name).toBe('candidate:NAME_INVALID');
    }
    expect(problem(words('register', 'x'))).toBe('name:NAME_INVALID');
    expect(problem(words('register', 'admin'))).toBe('name:NAME_RESERVED');
    expect(problem(words('create', 'komrade'))).toBe('collective:NAME_RESERVED');
  });

  it('refuses oversized values before any other check', () => {
    expect(problem(words('vouch', `portland ${'a'.repeat(41)}`))).toBe('candidate:USAGE');
    expect(problem(words('register', 'ab'.repeat(1000)))).toBe('name:USAGE');
    expect(problem(words('join', `portland ${'x'.repeat(1001)}`))).toBe('note:USAGE');
    // Counted in characters as typed, not UTF-16 units: 1000 emoji fit a 1000-character note.
    expect(parsed(words('join', `portland ${'🍞'.repeat(1000)}`)).command).toBe('join');
    expect(problem(words('propose', `portland quorum ${'9'.repeat(16)}`))).toBe('vouches:USAGE');
    expect(problem(words('propose', 'portland quorum 10001'))).toBe('vouches:USAGE');
  });

  it('answers empty input with the first missing argument, without a value problem', () => {
    expect(problem(words('vouch', ''))).toBe('collective:-');
    expect(problem(words('vouch', '   \n '))).toBe('collective:-');
    expect(problem(words('vouch', 'portland'))).toBe('candidate:-');
    // Missing text is a usage problem (never a value shown to the user).
    expect(problem(words('say', 'portland   '))).toBe('text:USAGE');
    expect(problem(words('register', ''))).toBe('name:-');
    expect(parsed(words('help', '')).command).toBe('help');
    expect(problem(parseWords([], 'anything'))).toBe('-:-');
  });
});

describe('parseOptions', () => {
  const options =
    (values: Record<string, RawArg>) =>
    (arg: ArgSpec): RawArg =>
      values[arg.name] ?? null;

  it('checks each option as the words would be checked', () => {
    expect(
      parsed(
        parseOptions(spec('vote'), options({ collective: 'Portland', proposal: 7, choice: 'N' })),
      ).args,
    ).toEqual({ collective: 'portland', proposal: 7, choice: 'no' });
    expect(
      problem(parseOptions(spec('vouch'), options({ collective: 'portland', candidate: 'dаve' }))),
    ).toBe('candidate:NAME_INVALID');
    expect(
      problem(parseOptions(spec('say'), options({ collective: 'portland', text: '  \n ' }))),
    ).toBe('text:USAGE');
  });

  it("lets a linked channel's collective stand in for a left-out one", () => {
    expect(
      parsed(parseOptions(spec('vouch'), options({ candidate: 'Dave' }), 'portland')).args,
    ).toEqual({ collective: 'portland', candidate: 'dave' });
    // A collective the user names wins over the channel's.
    expect(
      parsed(
        parseOptions(
          spec('vouch'),
          options({ collective: 'seattle', candidate: 'dave' }),
          'portland',
        ),
      ).args,
    ).toEqual({ collective: 'seattle', candidate: 'dave' });
    // Without a link, it is missing (a left-out value has no problem of its own).
    expect(problem(parseOptions(spec('vouch'), options({ candidate: 'dave' })))).toBe(
      'collective:-',
    );
  });

  it('never lets a linked channel stand in for an explicit collective (leaving)', () => {
    expect(problem(parseOptions(spec('leave'), options({}), 'portland'))).toBe('collective:-');
    expect(
      parsed(parseOptions(spec('leave'), options({ collective: 'Portland' }), 'x')).args,
    ).toEqual({ collective: 'portland' });
  });
});

describe('writeCommand', () => {
  it('writes usage lines: placeholders on word surfaces, bracketing optional arguments', () => {
    expect(writeCommand(spec('vouch'), 'words', undefined)).toBe('/vouch NAME @candidate');
    expect(writeCommand(spec('join'), 'words', undefined)).toBe(
      '/join NAME [a note for the members]',
    );
    expect(writeCommand(spec('propose-quorum'), 'words', undefined)).toBe('/propose NAME quorum N');
    expect(writeCommand(spec('create'), 'words', undefined, { typed: 'create_collective' })).toBe(
      '/create_collective NAME',
    );
    expect(writeCommand(POST, 'words', undefined)).toBe('/post [3d] text');
  });

  it('writes examples on word surfaces: names with @, optional ones left out', () => {
    expect(
      writeCommand(spec('vouch'), 'words', { collective: 'portland', candidate: 'dave' }),
    ).toBe('/vouch portland @dave');
    expect(writeCommand(spec('join'), 'words', { collective: 'portland' })).toBe('/join portland');
    expect(
      writeCommand(spec('vote'), 'words', { collective: 'portland', proposal: '7', choice: 'yes' }),
    ).toBe('/vote portland 7 yes');
    expect(
      writeCommand(spec('propose-remove'), 'words', { collective: 'portland', member: 'dave' }),
    ).toBe('/propose portland remove @dave');
  });

  it('writes usage lines for options: keyword as subcommand, required options first', () => {
    expect(writeCommand(spec('vouch'), 'options', undefined, { channelLinks: true })).toBe(
      '/vouch candidate:NAME [collective:NAME]',
    );
    expect(writeCommand(spec('vouch'), 'options', undefined)).toBe(
      '/vouch collective:NAME candidate:NAME',
    );
    expect(writeCommand(spec('leave'), 'options', undefined, { channelLinks: true })).toBe(
      '/leave collective:NAME',
    );
    expect(writeCommand(spec('propose-window'), 'options', undefined, { channelLinks: true })).toBe(
      '/propose window days:DAYS [collective:NAME]',
    );
    expect(writeCommand(spec('vote'), 'options', undefined)).toBe(
      '/vote collective:NAME proposal:ID choice:yes|no',
    );
    expect(writeCommand(spec('join'), 'options', undefined)).toBe(
      '/join collective:NAME [note:TEXT]',
    );
  });

  it('writes examples for options with the values as given', () => {
    expect(
      writeCommand(
        spec('vouch'),
        'options',
        { collective: 'portland', candidate: 'dave' },
        { channelLinks: true },
      ),
    ).toBe('/vouch candidate:dave collective:portland');
    expect(
      writeCommand(spec('propose-quorum'), 'options', { collective: 'portland', vouches: '2' }),
    ).toBe('/propose quorum collective:portland vouches:2');
  });
});
