/** The words of the identity commands' views, and of a proof of work in progress. */
import { command, lines, name, type Rich } from '../rich-text.js';
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
