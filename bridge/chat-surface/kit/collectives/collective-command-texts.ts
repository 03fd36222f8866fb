/** The words of the collective commands' views. */
import type { Constitution } from '../../../../common/collectives/index.js';
import type { CandidateView, CollectiveView, ProposalView } from '../../../../client/index.js';
import { constitutionMessage, describeChange, trustLabel } from '../../collective-texts.js';
import {
  bare,
  command,
  count,
  lines,
  name,
  strong,
  time,
  untrusted,
  type Rich,
} from '../rich-text.js';
import { offers, type Surface } from '../surface.js';
import type { CollectiveCommandView } from './collective-views.js';

export function collectiveText(view: CollectiveCommandView, surface: Surface): Rich {
  switch (view.kind) {
    case 'collective-created':
      return lines(
        ['Created ', name(view.name), '. You are its first member.'],
        [
          'Others ask to join with ',
          command('join', { collective: view.name }),
          '; you vouch them in with ',
          command('vouch', { collective: view.name, candidate: 'them' }),
          '.',
        ],
        offers(surface, 'link')
          ? [
              'A channel manager can carry it in a channel with ',
              command('link', { collective: view.name }),
              '.',
            ]
          : [
              'Write to every member with ',
              command('say', { collective: view.name, text: 'text' }),
              '; ',
              command('constitution', { collective: view.name }),
              ' shows its rules.',
            ],
      );
    case 'join-requested': {
      const quorum = view.view.pending.find((p) => p.candidate === view.me)?.quorum ?? 1;
      return [
        'Asked to join ',
        name(view.view.name),
        `. ${count(quorum, 'member')} must vouch for you (with `,
        command('vouch', { collective: view.view.name, candidate: view.me }),
        '); you will hear when you are in.',
      ];
    }
    case 'vouched': {
      const { outcome } = view;
      const tally = `${outcome.vouchers.length}/${outcome.quorum}`;
      return outcome.admitted
        ? [
            'You vouched for ',
            name(outcome.candidate),
            `: ${tally}, so `,
            name(outcome.candidate),
            ' is now a member of ',
            name(outcome.collective),
            '.',
          ]
        : [
            'You vouched for ',
            name(outcome.candidate),
            ' in ',
            name(outcome.collective),
            `: ${tally} vouches.`,
          ];
    }
    case 'pending':
      return view.view.pending.length === 0
        ? ['Nobody is waiting to join ', name(view.view.name), '.']
        : lines(
            ['Waiting to join ', name(view.view.name), ' (vouches / needed):'],
            ...view.view.pending.map(candidateLine),
          );
    case 'members':
      return lines(
        ['Members of ', name(view.view.name), ` (${view.view.members.length}):`],
        ...view.view.members.map((m) => [name(m.name), ` (${trustLabel(m.keyHolder)})`]),
      );
    case 'constitution':
      return constitutionMessage(view.view);
    case 'proposals':
      return proposalsText(view.view);
    case 'no-such-proposal':
      return lines(
        [`There is no open proposal #${view.proposal} in `, name(view.view.name), '.'],
        proposalsText(view.view),
      );
    case 'proposed':
      return proposedText(view.collective, view.proposal, view.current);
    case 'voted': {
      const { outcome, yes } = view;
      if (outcome.alreadyPassed) {
        return [
          `Proposal #${outcome.proposal} had already passed, so your vote was not needed: it is in force in `,
          name(outcome.collective),
          '.',
        ];
      }
      if (outcome.enacted) {
        return [
          `Your vote counted, and proposal #${outcome.proposal} passed: it is now in force in `,
          name(outcome.collective),
          '.',
        ];
      }
      return [
        `Your ${yes ? 'yes' : 'no'} vote counted on #${outcome.proposal} in `,
        name(outcome.collective),
        `: ${outcome.yes} yes, ${outcome.no} no; ${outcome.required} yes needed.`,
      ];
    }
    case 'left':
      return view.unlinked === 0
        ? ['You left ', name(view.collective), '.']
        : view.unlinked === 1
          ? [
              'You left ',
              name(view.collective),
              '; the channel you linked to it no longer carries it.',
            ]
          : [
              'You left ',
              name(view.collective),
              `; the ${view.unlinked} channels you linked to it no longer carry it.`,
            ];
    case 'said':
      return view.recipients === 0
        ? ['Nobody else is in ', name(view.collective), ' yet, so nothing was sent.']
        : [
            'Sealed for ',
            count(view.recipients, 'member'),
            ' of ',
            name(view.collective),
            ' and on its way.',
          ];
    case 'collectives':
      return view.names.length === 0
        ? [
            'You are in no collective yet. ',
            command('create'),
            ' starts one; ',
            command('join'),
            ' asks to join one.',
          ]
        : lines('Your collectives:', ...view.names.map((n) => name(n)), '', [
            bare('members'),
            ', ',
            bare('pending'),
            ', ',
            bare('proposals'),
            ', ',
            bare('say'),
            ' show and reach them.',
          ]);
  }
}

function candidateLine(c: CandidateView): Rich {
  const line: Rich = [
    name(c.candidate),
    ` ${c.vouchers.length}/${c.quorum} (${trustLabel(c.keyHolder)}) — asked ${time(c.requestedAt)}`,
  ];
  // The candidate's own words: one bounded line that no markup or mention can shape.
  return c.note.length === 0 ? line : [line, '\n  “', untrusted(c.note), '”'];
}

function proposalsText(view: CollectiveView): Rich {
  if (view.proposals.length === 0) {
    return [
      'No open proposals in ',
      name(view.name),
      '. Make one with ',
      command('propose-quorum', { collective: view.name, vouches: 'N' }),
      ' (see ',
      bare('help'),
      ').',
    ];
  }
  return lines(
    ['Open proposals in ', name(view.name), ':'],
    ...view.proposals.map((p) => ['\n', proposalLine(view.name, p, view.constitution)]),
  );
}

const proposalLine = (collective: string, p: ProposalView, current: Constitution): Rich =>
  lines(
    [strong(`#${p.id}`), ' by ', name(p.proposer), `: ${describeChange(p.change, current)}`],
    `${p.yes.length} yes, ${p.no.length} no; ${p.required} yes needed; closes ${time(p.closesAt)}`,
    [command('vote', { collective, proposal: String(p.id), choice: 'yes' }), ' (or no)'],
  );

const proposedText = (collective: string, proposal: ProposalView, current?: Constitution): Rich =>
  lines(
    [
      'Proposal #',
      String(proposal.id),
      ' in ',
      name(collective),
      `: ${describeChange(proposal.change, current)}.`,
    ],
    `It needs ${count(proposal.required, 'yes vote')} by ${time(proposal.closesAt)}.`,
    [
      'Vote (you too): ',
      command('vote', { collective, proposal: String(proposal.id), choice: 'yes' }),
    ],
  );
