/** The kit's catalogue: every view worded on every style of surface, and errors told safely. */
import { describe, expect, it } from 'vitest';
import {
  COLLECTIVE_COMMANDS,
  IDENTITY_COMMANDS,
  discordMarkdown,
  plainText,
  say,
  telegramHtml,
  type Surface,
  type TextStyle,
  type View,
} from '../../bridge/index.js';
import type { CollectiveView, FeedPost, ProposalView, ReceivedLetter } from '../../client/index.js';
import { DEFAULT_CONSTITUTION } from '../../common/collectives/index.js';
import { KomradeError } from '../../common/errors/index.js';

const COMMANDS = [...IDENTITY_COMMANDS, ...COLLECTIVE_COMMANDS];
const surfaceOf = (style: TextStyle, syntax: 'words' | 'options'): Surface => ({
  style,
  syntax,
  channelLinks: syntax === 'options',
  commands: COMMANDS,
  textLimit: 2000,
  about: { greeting: 'Hello from the test bot', help: 'The test bot', footer: 'The end' },
});
const SURFACES: readonly [string, Surface][] = [
  ['plain', surfaceOf(plainText, 'words')],
  ['telegram-html', surfaceOf(telegramHtml, 'words')],
  ['discord', surfaceOf(discordMarkdown, 'options')],
];

const AT = Date.UTC(2026, 11, 2, 18, 0);
const proposal: ProposalView = {
  id: 7,
  proposer: 'ana',
  change: { action: 'remove', member: 'ben' },
  openedAt: AT,
  closesAt: AT + 86_400_000,
  yes: ['ana'],
  no: [],
  required: 2,
};
const collective: CollectiveView = {
  name: 'portland',
  length: 5,
  standing: 'member',
  constitution: DEFAULT_CONSTITUTION,
  members: [
    { name: 'ana', keyHolder: 'telegram' },
    { name: 'ben', keyHolder: 'self' },
  ],
  pending: [
    {
      candidate: 'cai',
      keyHolder: 'discord',
      requestedAt: AT,
      note: 'I print flyers',
      vouchers: [],
      quorum: 1,
    },
  ],
  proposals: [proposal],
};
const empty: CollectiveView = { ...collective, pending: [], proposals: [] };
const letter: ReceivedLetter = {
  kind: 'letter',
  id: 'bGV0dGVy',
  from: 'ben',
  fromKeyHolder: 'self',
  to: 'ana',
  sentAt: AT,
  receivedAt: AT + 1_000,
  text: 'Meet at <b>noon</b> *sharp*\nby the [door](https://x.example)',
};
const post: FeedPost = {
  id: 'cG9zdA',
  from: 'cai',
  postedAt: AT,
  days: 7,
  expiresAt: AT + 7 * 86_400_000,
  text: 'Rent strike meeting # tonight',
};

/**
 * A sample of every view kind, from the real types: a new kind fails to compile here until it
 * has a sample, so the test below covers it.
 */
const SAMPLES: { readonly [K in View['kind']]: readonly Extract<View, { kind: K }>[] } = {
  'no-identity': [{ kind: 'no-identity' }],
  'not-registered': [{ kind: 'not-registered' }],
  busy: [{ kind: 'busy' }],
  usage: [
    { kind: 'usage', specs: COMMANDS.filter((s) => s.name === 'vouch'), problem: {} },
    {
      kind: 'usage',
      specs: COMMANDS.filter((s) => s.typed === 'propose'),
      problem: { error: new KomradeError('NAME_INVALID', 'A name cannot be empty.') },
    },
  ],
  'unknown-command': [{ kind: 'unknown-command', typed: 'frobnicate' }],
  error: [{ kind: 'error', error: new KomradeError('NAME_TAKEN', 'That name is taken.') }],
  registered: [{ kind: 'registered', name: 'ana' }],
  'already-registered': [{ kind: 'already-registered', name: 'ana' }],
  whoami: [
    {
      kind: 'whoami',
      me: {
        name: 'ana',
        registeredAt: AT,
        keyHolder: 'telegram',
        signKey: 'c2lnbg',
        boxKey: 'Ym94',
      },
    },
    {
      kind: 'whoami',
      me: { name: null, registeredAt: null, keyHolder: 'discord', signKey: 's', boxKey: 'b' },
    },
  ],
  help: [
    { kind: 'help', first: true },
    { kind: 'help', first: false },
  ],
  verified: [
    { kind: 'verified', verdict: { name: 'ana', verdict: 'ok', size: 12, mine: [], others: 0 } },
    {
      kind: 'verified',
      verdict: {
        name: 'ana',
        verdict: 'problems',
        size: 13,
        mine: [{ kind: 'second-leaf', name: 'ana', leaves: [3, 12], reason: 'A second leaf.' }],
        others: 1,
      },
    },
    {
      kind: 'verified',
      verdict: { name: 'ana', verdict: 'inconsistent', size: 0, mine: [], others: 0 },
    },
  ],
  'collective-created': [{ kind: 'collective-created', name: 'portland' }],
  'join-requested': [{ kind: 'join-requested', view: collective, me: 'cai' }],
  vouched: [
    {
      kind: 'vouched',
      outcome: {
        collective: 'portland',
        candidate: 'cai',
        vouchers: ['ana'],
        quorum: 1,
        admitted: true,
      },
    },
    {
      kind: 'vouched',
      outcome: {
        collective: 'portland',
        candidate: 'cai',
        vouchers: ['ana'],
        quorum: 2,
        admitted: false,
      },
    },
  ],
  pending: [
    { kind: 'pending', view: collective },
    { kind: 'pending', view: empty },
  ],
  members: [{ kind: 'members', view: collective }],
  constitution: [{ kind: 'constitution', view: collective }],
  proposals: [
    { kind: 'proposals', view: collective },
    { kind: 'proposals', view: empty },
  ],
  proposed: [
    { kind: 'proposed', collective: 'portland', proposal, current: DEFAULT_CONSTITUTION },
    { kind: 'proposed', collective: 'portland', proposal, current: undefined },
  ],
  voted: [
    {
      kind: 'voted',
      yes: true,
      outcome: {
        collective: 'portland',
        proposal: 7,
        yes: 1,
        no: 0,
        required: 2,
        enacted: false,
        alreadyPassed: false,
      },
    },
    {
      kind: 'voted',
      yes: false,
      outcome: {
        collective: 'portland',
        proposal: 7,
        yes: 2,
        no: 1,
        required: 2,
        enacted: true,
        alreadyPassed: false,
      },
    },
    {
      kind: 'voted',
      yes: true,
      outcome: {
        collective: 'portland',
        proposal: 7,
        yes: 2,
        no: 0,
        required: 2,
        enacted: true,
        alreadyPassed: true,
      },
    },
  ],
  'no-such-proposal': [{ kind: 'no-such-proposal', proposal: 9, view: collective }],
  left: [
    { kind: 'left', collective: 'portland', unlinked: 0 },
    { kind: 'left', collective: 'portland', unlinked: 1 },
    { kind: 'left', collective: 'portland', unlinked: 3 },
  ],
  said: [
    { kind: 'said', collective: 'portland', recipients: 0 },
    { kind: 'said', collective: 'portland', recipients: 4 },
  ],
  collectives: [
    { kind: 'collectives', names: [] },
    { kind: 'collectives', names: ['portland', 'seattle'] },
  ],
  'letter-sent': [{ kind: 'letter-sent', to: 'ben' }],
  inbox: [
    { kind: 'inbox', letters: [] },
    { kind: 'inbox', letters: [letter, { ...letter, kind: 'post', fromKeyHolder: undefined }] },
  ],
  requests: [
    { kind: 'requests', requests: [] },
    { kind: 'requests', requests: [{ from: 'ben', letters: [letter] }] },
  ],
  accepted: [
    { kind: 'accepted', name: 'ben', moved: 0 },
    { kind: 'accepted', name: 'ben', moved: 2 },
  ],
  blocked: [{ kind: 'blocked', name: 'ben' }],
  'not-a-letter': [{ kind: 'not-a-letter' }],
  posted: [{ kind: 'posted', expiresAt: AT }],
  feed: [
    { kind: 'feed', posts: [], next: null, older: false },
    { kind: 'feed', posts: [], next: null, older: true },
    { kind: 'feed', posts: [post], next: 'Y3Vyc29y', older: false },
  ],
  'posted-to-followers': [
    { kind: 'posted-to-followers', followers: 0 },
    { kind: 'posted-to-followers', followers: 3 },
  ],
  followed: [
    { kind: 'followed', name: 'ben', added: true },
    { kind: 'followed', name: 'ben', added: false },
  ],
  unfollowed: [
    { kind: 'unfollowed', name: 'ben', removed: true },
    { kind: 'unfollowed', name: 'ben', removed: false },
  ],
  followers: [
    { kind: 'followers', names: [] },
    { kind: 'followers', names: ['ben', 'cai'] },
  ],
  following: [
    { kind: 'following', names: [] },
    { kind: 'following', names: ['ben'] },
  ],
};

const ALL_SAMPLES: readonly View[] = Object.values(SAMPLES).flat();

describe('the catalogue', () => {
  it.each(SURFACES)('words every view kind on a %s surface', (_, surface) => {
    for (const view of ALL_SAMPLES) {
      const text = say(view, surface);
      expect(text.trim().length, view.kind).toBeGreaterThan(0);
      // Nothing leaks from a missing field or a stringified object.
      expect(text, view.kind).not.toMatch(/undefined|\[object |NaN/);
    }
  });

  it('help lists every command the surface offers, in its order, with the surface’s about text', () => {
    const [, plain] = SURFACES[0] ?? [];
    if (plain === undefined) throw new Error('no surface');
    const first = say({ kind: 'help', first: true }, plain);
    const again = say({ kind: 'help', first: false }, plain);
    expect(first.startsWith('Hello from the test bot')).toBe(true);
    expect(again.startsWith('The test bot')).toBe(true);
    expect(again.trimEnd().endsWith('The end')).toBe(true);
    const listed = again
      .split('\n')
      .filter((line) => line.startsWith('/'))
      .map((line) => line.split(' ')[0]);
    expect(listed).toEqual(COMMANDS.map((spec) => `/${spec.typed ?? spec.name}`));
  });

  it('answers no identity with the register command as the surface types it', () => {
    const texts = SURFACES.map(([, surface]) => say({ kind: 'no-identity' }, surface));
    expect(texts[0]).toContain('/register NAME');
    expect(texts[1]).toContain('<code>/register NAME</code>');
    expect(texts[2]).toContain('`/register name:NAME`');
  });
  it('never lets the words of a letter or post in a view act as markup', () => {
    const [, html] = SURFACES.map(([, surface]) => surface);
    if (html === undefined) throw new Error('no surface');
    const inbox = say({ kind: 'inbox', letters: [letter] }, html);
    expect(inbox).not.toContain('<b>noon</b>');
    expect(inbox).toContain('&lt;b&gt;noon&lt;/b&gt;');
    const requests = say(
      { kind: 'requests', requests: [{ from: 'ben', letters: [letter] }] },
      html,
    );
    expect(requests).not.toContain('<b>noon</b>');
  });
});

describe('errors', () => {
  const SECRET = '123456:AAH-secret-bot-token';

  it.each(SURFACES)(
    'show a KomradeError by its friendly text or its message (%s)',
    (_, surface) => {
      expect(
        say(
          { kind: 'error', error: new KomradeError('NAME_TAKEN', 'That name is taken.') },
          surface,
        ),
      ).toBe('That name is taken.');
      const unreachable = say(
        { kind: 'error', error: new KomradeError('OPERATOR_UNREACHABLE', `connect to ${SECRET}`) },
        surface,
      );
      expect(unreachable).toContain('cannot be reached');
      expect(unreachable).not.toContain(SECRET);
      expect(
        say({ kind: 'error', error: new KomradeError('NOT_REGISTERED', 'no receipt') }, surface),
      ).toMatch(/register/);
    },
  );

  it.each(SURFACES)('show anything else as a generic text with no detail (%s)', (_, surface) => {
    const system = Object.assign(new Error(`ECONNREFUSED redis://:${SECRET}@10.0.0.5:6379`), {
      code: 'ECONNREFUSED',
    });
    for (const error of [
      new Error(`token ${SECRET} refused`),
      new TypeError(`Cannot read properties of undefined (reading '${SECRET}')`),
      system,
      SECRET,
      { message: SECRET, code: 'NAME_TAKEN' },
      undefined,
    ]) {
      const text = say({ kind: 'error', error }, surface);
      expect(text).toBe('Something went wrong on my side. Try again in a minute.');
      expect(text).not.toContain('secret');
    }
  });

  it('escapes an error message in the surface’s markup (it may come from the Operator)', () => {
    const error = new KomradeError('NAME_TAKEN', 'Taken <b>now</b>: [see](https://evil.example)');
    const [, , discord] = SURFACES.map(([, surface]) => surface);
    const [, html] = SURFACES.map(([, surface]) => surface);
    if (discord === undefined || html === undefined) throw new Error('no surface');
    expect(say({ kind: 'error', error }, html)).toBe(
      'Taken &lt;b&gt;now&lt;/b&gt;: [see](https://evil.example)',
    );
    expect(say({ kind: 'error', error }, discord)).not.toContain('](');
  });
});
