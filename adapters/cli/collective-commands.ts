/** `komrade collective …`: create, join, vouch, vote and write to a collective (docs/collectives.md). */
import { type Command, InvalidArgumentError } from 'commander';
import { parseName } from '../../common/wire/index.js';
import { proposalFromOptions, type ProposeOptions } from './constitution-change.js';
import type { Output } from './output.js';
import { powProgress } from './pow-progress.js';
import { readText } from './read-text.js';
import {
  renderCollective,
  renderConstitution,
  renderMembers,
  renderMessages,
  renderPending,
  renderProposal,
  renderProposals,
  renderSent,
  renderVote,
  renderVouch,
} from './render-collective.js';
import type { Session } from './session.js';

/** What the collective commands need from program.ts. */
export interface CollectiveCommandContext {
  readonly output: Output;
  /** stdin, for `send` without text. */
  readonly input: AsyncIterable<string | Buffer> & { readonly isTTY?: boolean };
  /** The clock, for proof-of-work progress. */
  readonly now: () => number;
  /** Opens the home folder for one command and always closes it. */
  readonly withSession: <T>(command: Command, run: (session: Session) => Promise<T>) => Promise<T>;
}

const DEFAULT_READ_LIMIT = 20;

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function positiveInteger(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new InvalidArgumentError('Expected a whole number of at least 1.');
  }
  return n;
}

function yesOrNo(value: string): boolean {
  const folded = value.toLowerCase();
  if (folded === 'yes' || folded === 'y') return true;
  if (folded === 'no' || folded === 'n') return false;
  throw new InvalidArgumentError('Expected yes or no.');
}

/** The canonical name, for messages; the client checks it again and reports a bad one. */
const canonical = (input: string): string => {
  const parsed = parseName(input);
  return parsed.ok ? parsed.value : input;
};

const examples = (...lines: string[]) =>
  ['', 'Examples:', ...lines.map((line) => `  $ ${line}`)].join('\n');

/** Adds `komrade collective` and its subcommands to `program`. */
export function addCollectiveCommands(program: Command, ctx: CollectiveCommandContext): void {
  const { output, withSession } = ctx;

  const collective = program
    .command('collective')
    .description(
      'collectives: groups that grow as members vouch for newcomers and change their rules by vote',
    )
    .addHelpText(
      'after',
      [
        '',
        "Every command checks the collective's whole log with the same rules the Operator runs",
        '(docs/collectives.md); a log that breaks them is refused with COLLECTIVE_INVALID.',
        examples(
          'komrade collective create @portland --founder @bob',
          'komrade collective join @portland --note "From the tenants union"',
          'komrade collective pending @portland',
          'komrade collective vouch @portland @dave',
          'komrade collective propose @portland --quorum 2',
          'komrade collective vote @portland 7 yes',
          'komrade collective send @portland "Assembly on Sunday at noon."',
          'komrade collective read @portland',
        ),
      ].join('\n'),
    );

  collective
    .command('create')
    .description('found a collective (solves a proof of work); you are its first member')
    .argument('<name>', 'its name, e.g. @portland (names are shared with komrades)')
    .option('--founder <name>', 'another founding member (repeat for more)', collect, [])
    .addHelpText(
      'after',
      examples('komrade collective create @portland --founder @bob --founder @carol'),
    )
    .action(async (name: string, options: { founder: string[] }, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.createCollective(name, {
          founders: options.founder,
          ...powProgress(output, ctx.now),
        });
        output.result(
          view,
          () =>
            `Created @${view.name} with ${view.members.map((m) => `@${m.name}`).join(', ')}.\n` +
            `Others ask with: komrade collective join @${view.name}`,
        );
      });
    });

  collective
    .command('join')
    .description('ask to join a collective; its members then vouch for you')
    .argument('<name>', 'e.g. @portland')
    .option('--note <text>', 'a word to the members (at most 1 KiB), e.g. who you are')
    .addHelpText(
      'after',
      examples('komrade collective join @portland --note "Rosa, from the union"'),
    )
    .action(async (name: string, options: { note?: string }, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.requestToJoin(name, options.note);
        output.result(view, () =>
          view.standing === 'member'
            ? `You are already a member of @${view.name}.`
            : `Asked to join @${view.name}; ${view.members.length} member(s) can vouch for you.`,
        );
      });
    });

  collective
    .command('vouch')
    .description('vouch for a candidate; admits them once the vouches meet the quorum')
    .argument('<name>', 'the collective, e.g. @portland')
    .argument('<candidate>', 'who asked to join, e.g. @dave')
    .addHelpText('after', examples('komrade collective vouch @portland @dave'))
    .action(async (name: string, candidate: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const outcome = await client.vouch(name, candidate);
        output.result(outcome, () => renderVouch(outcome));
      });
    });

  collective
    .command('show')
    .description('your standing and the size of a collective, from its verified log')
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.collective(name);
        output.result(view, () => renderCollective(view));
      });
    });

  collective
    .command('pending')
    .description(
      'candidates waiting to join, with their notes and their vouches against the quorum',
    )
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.collective(name);
        output.result({ collective: view.name, pending: view.pending }, () => renderPending(view));
      });
    });

  collective
    .command('members')
    .description('the members, each with who holds their keys (e.g. "(telegram)")')
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.collective(name);
        output.result({ collective: view.name, members: view.members }, () => renderMembers(view));
      });
    });

  collective
    .command('constitution')
    .description('the rules in force: quorum, thresholds, voting window, who may act')
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.collective(name);
        output.result({ collective: view.name, constitution: view.constitution }, () =>
          renderConstitution(view.constitution, view.members.length, view.name),
        );
      });
    });

  collective
    .command('propose')
    .description('propose an amendment (the current constitution, changed) or a removal')
    .argument('<name>', 'e.g. @portland')
    .option('--quorum <n>', 'admit with a fixed number of vouches')
    .option('--quorum-fraction <n/d>', 'admit with this fraction of the members, e.g. 1/4')
    .option('--quorum-min <n>', 'but never fewer vouches than this (with --quorum-fraction)')
    .option('--amend-threshold <rule>', 'for amendments: more-than:1/2 or at-least:2/3')
    .option('--remove-threshold <rule>', 'for removals: more-than:1/2 or at-least:2/3')
    .option('--voting-days <n>', 'how long each vote stays open, in days')
    .option('--key-holders <list>', 'who may act: self,telegram,discord (comma-separated)')
    .option('--remove <member>', 'propose removing this member instead')
    .addHelpText(
      'after',
      [
        '',
        'Options other than --remove amend the constitution in force; what you do not name stays.',
        examples(
          'komrade collective propose @portland --quorum 2',
          'komrade collective propose @portland --quorum-fraction 1/4 --quorum-min 2',
          'komrade collective propose @portland --key-holders self --voting-days 3',
          'komrade collective propose @portland --remove @mallory',
        ),
      ].join('\n'),
    )
    .action(async (name: string, options: ProposeOptions, command: Command) => {
      await withSession(command, async ({ client }) => {
        const current = await client.collective(name);
        const change = proposalFromOptions(current.constitution, options);
        const proposal = await client.propose(name, change);
        output.result(proposal, () =>
          [
            `Proposed in @${current.name}:`,
            renderProposal(proposal, current.constitution),
            `Vote: komrade collective vote @${current.name} ${proposal.id} yes`,
          ].join('\n'),
        );
      });
    });

  collective
    .command('proposals')
    .description('open proposals with their votes; ID is what vote takes')
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const view = await client.collective(name);
        output.result({ collective: view.name, proposals: view.proposals }, () =>
          renderProposals(view),
        );
      });
    });

  collective
    .command('vote')
    .description('vote on a proposal; enacts it once the yes votes meet its threshold')
    .argument('<name>', 'e.g. @portland')
    .argument('<id>', 'the proposal, as `proposals` lists it', positiveInteger)
    .argument('<vote>', 'yes or no', yesOrNo)
    .addHelpText('after', examples('komrade collective vote @portland 7 yes'))
    .action(async (name: string, id: number, yes: boolean, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const outcome = await client.vote(name, id, yes);
        output.result(outcome, () => renderVote(outcome));
      });
    });

  collective
    .command('enact')
    .description('enact a proposal whose yes votes meet its threshold (vote usually does it)')
    .argument('<name>', 'e.g. @portland')
    .argument('<id>', 'the proposal', positiveInteger)
    .action(async (name: string, id: number, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const outcome = await client.enact(name, id);
        output.result(outcome, () => renderVote(outcome));
      });
    });

  collective
    .command('leave')
    .description('leave a collective, or withdraw your request to join')
    .argument('<name>', 'e.g. @portland')
    .action(async (name: string, _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        await client.leave(name);
        const left = canonical(name);
        output.result({ collective: left, left: true }, () => `You left @${left}.`);
      });
    });

  collective
    .command('send')
    .description('write to every member (the text, or stdin when omitted or "-")')
    .argument('<name>', 'e.g. @portland')
    .argument('[text...]', 'the message')
    .addHelpText(
      'after',
      examples(
        'komrade collective send @portland "Assembly on Sunday at noon."',
        'komrade collective send @portland < agenda.txt',
      ),
    )
    .action(async (name: string, words: string[], _options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const text = await readText(words, ctx.input, (t) => {
          output.prompt(t);
        });
        const sent = await client.sendToCollective(name, text);
        output.result(sent, () => renderSent(sent));
      });
    });

  collective
    .command('read')
    .description("fetch new letters and messages, then show a collective's conversation")
    .argument('<name>', 'e.g. @portland')
    .option('--limit <n>', 'show at most this many of the latest messages', positiveInteger)
    .action(async (name: string, options: { limit?: number }, command: Command) => {
      await withSession(command, async ({ client }) => {
        const checked = await client.checkInbox();
        const messages = client
          .collectiveMessages(name)
          .slice(-(options.limit ?? DEFAULT_READ_LIMIT));
        const me = client.whoami().name;
        const head = [
          `${checked.collective} new collective message(s)`,
          ...(checked.received > 0 ? [`${checked.received} new letter(s): komrade inbox`] : []),
          ...(checked.rejected > 0 ? [`${checked.rejected} rejected (failed verification)`] : []),
        ].join(', ');
        output.result(
          { checked, messages },
          () => `${head}.\n\n${renderMessages(canonical(name), messages, me)}`,
        );
      });
    });

  collective
    .command('list')
    .description('collectives you created, joined or asked to join (local)')
    .action(async (_options: unknown, command: Command) => {
      await withSession(command, async ({ client }) => {
        const names = client.collectives();
        output.result({ collectives: names }, () =>
          names.length === 0
            ? 'You are in no collective yet: komrade collective join @NAME, or create one.'
            : names.map((n) => `@${n}`).join('\n'),
        );
        return Promise.resolve();
      });
    });
}
