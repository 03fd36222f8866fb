/** The words of the identity commands' views, and of a proof of work in progress. */
import type { IdentityVerdict } from '../../../engine/registry-watch.js';
import { command, lines, name, strong, type Rich } from '../rich-text.js';
import { keyHolderMark } from '../letter-display.js';
import { helpText } from '../common-texts.js';
import { offers, type Surface } from '../surface.js';
import type { IdentityCommandView } from './identity-views.js';

export function identityText(view: IdentityCommandView, surface: Surface): Rich {
  switch (view.kind) {
    case 'registered':
      return offers(surface, 'send')
        ? [
            'Registered as ',
            name(view.name),
            '. Komrades can now write to you: letters arrive here by themselves.',
          ]
        : lines(
            [
              'Registered as ',
              name(view.name),
              '. Your keys are held by this bot, and every komrade sees that.',
            ],
            ['Next: ', command('join'), ' to ask to join a collective.'],
          );
    case 'already-registered':
      return ['You are already registered as ', name(view.name), '.'];
    case 'whoami': {
      const { me } = view;
      const mark = keyHolderMark(me.keyHolder);
      return lines(
        me.name === null
          ? ['Not registered yet (', command('register'), ').']
          : ['You are ', name(me.name), '.'],
        `Signing key: ${me.signKey}`,
        `Box key: ${me.boxKey}`,
        'Your keys are held by this bot (see /help).',
        mark === undefined ? undefined : `Komrades see on your letters: ${mark}`,
      );
    }
    case 'verified':
      return verdictText(view.verdict);
    case 'help':
      return helpText(surface, view.first);
  }
}

/** A proof of work in progress: `Registering @ana… proof of work 40%`. */
export function workingText(commandName: string, subject: string, percent: number): Rich {
  const doing = commandName === 'register' ? 'Registering' : 'Creating';
  return [
    doing,
    ' ',
    name(subject),
    `… proof of work ${percent}% (this keeps name squatters away).`,
  ];
}

/** `/verifyme`'s answer: short, the name's problems first. */
function verdictText(verdict: IdentityVerdict): Rich {
  const entries = `${verdict.size} ${verdict.size === 1 ? 'entry' : 'entries'}`;
  switch (verdict.verdict) {
    case 'ok':
      return lines(
        [
          'Your keys are the only ones for ',
          name(verdict.name),
          ` in the Operator’s registry log (${entries}).`,
        ],
        'No problems found.',
      );
    case 'inconsistent':
      return lines(
        strong(
          'STOP: the Operator showed you a registry log that contradicts what it showed before or to others.',
        ),
        'Your identity here stopped trusting it. Warn your komrades through another channel.',
      );
    case 'problems':
      return lines(
        verdict.mine.length > 0
          ? [
              strong('PROBLEM:'),
              ' the Operator’s registry log does not hold only your keys for ',
              name(verdict.name),
              '.',
            ]
          : [
              strong('PROBLEM:'),
              ' the Operator’s registry log shows a lie about other names; yours is fine.',
            ],
        ...verdict.mine.map((p) => `- ${p.reason}`),
        verdict.others > 0
          ? `${verdict.others} problem(s) about other names or the whole log (${entries}).`
          : undefined,
        'Warn your komrades through another channel.',
      );
  }
}
