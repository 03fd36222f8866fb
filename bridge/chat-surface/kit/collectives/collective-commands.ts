/** The collective commands: start, join, vouch, look, propose, vote, say, leave. */
import { MAX_QUORUM, MAX_VOTING_WINDOW_DAYS } from '../../../../common/collectives/index.js';
import { isKomradeError } from '../../../../common/errors/index.js';
import {
  numberArg,
  optionalStringArg,
  stringArg,
  type ArgSpec,
  type CommandSpec,
} from '../command.js';

const DAY_MS = 86_400_000;

/** The collective a command is about. */
export const collectiveArg = (explicit = false): ArgSpec => ({
  name: 'collective',
  kind: 'collective',
  description: 'The collective, e.g. portland',
  placeholder: 'NAME',
  maxLength: 40,
  ...(explicit ? { explicit } : {}),
});

const createCollective: CommandSpec = {
  name: 'create',
  summary: 'Start a collective, with you as its first member',
  args: [
    {
      name: 'collective',
      kind: 'new-name',
      description: 'Its name: 3–32 letters a–z, digits or _',
      placeholder: 'NAME',
      maxLength: 40,
    },
  ],
  needs: 'registered',
  proofOfWork: true,
  run: async ({ engine, me, onProgress }, args) => {
    const view = await engine.createCollective(
      me.id,
      stringArg(args, 'collective'),
      onProgress === undefined ? {} : { onProgress },
    );
    return { kind: 'collective-created', name: view.name };
  },
};

const join: CommandSpec = {
  name: 'join',
  summary: 'Ask to join a collective; its members vouch you in',
  args: [
    collectiveArg(),
    {
      name: 'note',
      kind: 'text',
      description: 'A word to the members, e.g. who you are',
      placeholder: 'a note for the members',
      optional: true,
      maxLength: 1000,
    },
  ],
  needs: 'registered',
  run: async ({ engine, me, myName, event }, args) => ({
    kind: 'join-requested',
    view: await engine.requestToJoin(
      me.id,
      stringArg(args, 'collective'),
      optionalStringArg(args, 'note'),
      event,
    ),
    me: myName,
  }),
};

const vouch: CommandSpec = {
  name: 'vouch',
  summary: 'Vouch for someone who asked to join',
  args: [
    collectiveArg(),
    {
      name: 'candidate',
      kind: 'name',
      description: 'Their Komrade name, e.g. dave',
      placeholder: '@candidate',
      maxLength: 40,
    },
  ],
  needs: 'registered',
  run: async ({ engine, me, event }, args) => ({
    kind: 'vouched',
    outcome: await engine.vouch(
      me.id,
      stringArg(args, 'collective'),
      stringArg(args, 'candidate'),
      event,
    ),
  }),
};

/** A command that shows a collective as the view `kind` words it. */
const look = (
  kind: 'pending' | 'members' | 'constitution' | 'proposals',
  summary: string,
): CommandSpec => ({
  name: kind,
  summary,
  args: [collectiveArg()],
  needs: 'registered',
  run: async ({ engine, me }, args) => ({
    kind,
    view: await engine.collective(me.id, stringArg(args, 'collective')),
  }),
});

/** `/propose NAME <keyword> VALUE`: one command per kind of change, typed alike. */
const propose = (
  word: 'quorum' | 'window' | 'remove',
  summary: string,
  value: ArgSpec,
  change: (value: string | number) => Parameters<CommandContextEngine['proposeRule']>[2],
): CommandSpec => ({
  name: `propose-${word}`,
  typed: 'propose',
  keyword: { word, after: 1 },
  summary,
  args: [collectiveArg(), value],
  needs: 'registered',
  run: async ({ engine, me, event }, args) => {
    const collective = stringArg(args, 'collective');
    const { proposal, current } = await engine.proposeRule(
      me.id,
      collective,
      change(args[value.name] ?? ''),
      event,
    );
    return { kind: 'proposed', collective, proposal, current };
  },
});

type CommandContextEngine = Parameters<CommandSpec['run']>[0]['engine'];

const vote: CommandSpec = {
  name: 'vote',
  summary: 'Vote on a proposal',
  args: [
    collectiveArg(),
    {
      name: 'proposal',
      kind: 'integer',
      description: 'Its id, as /proposals shows it',
      placeholder: 'ID',
      min: 0,
    },
    {
      name: 'choice',
      kind: 'choice',
      description: 'yes or no',
      placeholder: 'yes|no',
      choices: ['yes', 'no'],
    },
  ],
  needs: 'registered',
  run: async ({ engine, me, event }, args) => {
    const collective = stringArg(args, 'collective');
    const proposal = numberArg(args, 'proposal') ?? -1;
    const yes = stringArg(args, 'choice') === 'yes';
    try {
      return {
        kind: 'voted',
        yes,
        outcome: await engine.vote(me.id, collective, proposal, yes, event),
      };
    } catch (error) {
      // Only after a refusal: an id that is no open proposal gets the open ones to pick from.
      if (!isKomradeError(error, 'COLLECTIVE_RULE')) throw error;
      const view = await engine.collective(me.id, collective);
      if (view.proposals.some((p) => p.id === proposal)) throw error;
      return { kind: 'no-such-proposal', proposal, view };
    }
  },
};

const say: CommandSpec = {
  name: 'say',
  summary: 'Write to every member of a collective',
  args: [
    collectiveArg(),
    { name: 'text', kind: 'text', description: 'What to say', placeholder: 'text' },
  ],
  needs: 'registered',
  run: async ({ engine, me, event }, args) => {
    const sent = await engine.sendToCollective(
      me.id,
      stringArg(args, 'collective'),
      stringArg(args, 'text'),
      event,
    );
    return { kind: 'said', collective: sent.collective, recipients: sent.recipients };
  },
};

const leave: CommandSpec = {
  name: 'leave',
  summary: 'Leave a collective (or withdraw your request to join)',
  args: [collectiveArg(true)],
  needs: 'registered',
  run: async ({ engine, me, event }, args) => {
    const collective = stringArg(args, 'collective');
    await engine.leave(me.id, collective, event);
    return { kind: 'left', collective, unlinked: 0 };
  },
};

const collectives: CommandSpec = {
  name: 'collectives',
  summary: 'The collectives you are in or asked to join',
  args: [],
  needs: 'registered',
  run: ({ engine, me }) => ({ kind: 'collectives', names: engine.collectives(me.id) }),
};

/** Every collective command, in the order help lists them. */
export const COLLECTIVE_COMMANDS: readonly CommandSpec[] = [
  createCollective,
  join,
  vouch,
  look('pending', 'Who waits to join, with their vouches'),
  look('members', 'Members, and who holds their keys'),
  look('constitution', "A collective's rules"),
  look('proposals', 'Open proposals with their votes'),
  propose(
    'quorum',
    'Propose that a candidate needs N vouches',
    {
      name: 'vouches',
      kind: 'integer',
      description: `Vouches needed (1–${MAX_QUORUM})`,
      placeholder: 'N',
      min: 1,
      max: MAX_QUORUM,
    },
    (value) => ({ amend: { quorum: { fixed: Number(value) } } }),
  ),
  propose(
    'window',
    'Propose that proposals stay open DAYS days',
    {
      name: 'days',
      kind: 'integer',
      description: `Days (1–${MAX_VOTING_WINDOW_DAYS})`,
      placeholder: 'DAYS',
      min: 1,
      max: MAX_VOTING_WINDOW_DAYS,
    },
    (value) => ({ amend: { votingWindowMs: Number(value) * DAY_MS } }),
  ),
  propose(
    'remove',
    'Propose removing a member',
    {
      name: 'member',
      kind: 'name',
      description: 'Their Komrade name',
      placeholder: '@member',
      maxLength: 40,
    },
    (value) => ({ remove: String(value) }),
  ),
  vote,
  say,
  leave,
  collectives,
];
