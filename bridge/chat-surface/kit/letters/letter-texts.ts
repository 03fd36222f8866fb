/** The words of the letter commands' views. */
import type { LetterRequest, ReceivedLetter } from '../../../../client/index.js';
import { keyHolderMark } from '../letter-display.js';
import { command, count, join, lines, name, time, verbatim, type Rich } from '../rich-text.js';
import type { LetterCommandView } from './letter-views.js';

/** One stored letter, for the inbox: who, when, whose keys, then its words. */
function inboxEntry(letter: ReceivedLetter): Rich {
  const held = keyHolderMark(letter.fromKeyHolder);
  return lines(
    [
      letter.kind === 'post' ? '📣 post from ' : '',
      name(letter.from),
      ` · ${time(letter.sentAt)}`,
      held === undefined ? '' : ` · ${held}`,
    ],
    verbatim(letter.text),
  );
}

/** One first contact: who, how many letters, then their words. */
const requestEntry = (request: LetterRequest): Rich =>
  join(
    [
      [
        name(request.from),
        ` wrote to you for the first time (${count(request.letters.length, 'letter')}):`,
      ],
      ...request.letters.map((letter) => verbatim(letter.text)),
    ],
    '\n\n',
  );

export function letterText(view: LetterCommandView): Rich {
  switch (view.kind) {
    case 'letter-sent':
      return ['Sealed and on its way to ', name(view.to), '.'];
    case 'inbox':
      return view.letters.length === 0
        ? 'Your inbox is empty.'
        : join(view.letters.map(inboxEntry), '\n\n');
    case 'requests':
      return view.requests.length === 0
        ? 'No first letters waiting.'
        : join(view.requests.map(requestEntry), '\n\n');
    case 'accepted':
      return [
        'Accepted ',
        name(view.name),
        view.moved > 0 ? ` (${count(view.moved, 'letter')} moved to your inbox)` : '',
        '.',
      ];
    case 'blocked':
      return ['Blocked ', name(view.name), '. Their letters will be dropped.'];
    case 'not-a-letter':
      return [
        'That message is not a letter, so I cannot answer it. Use ',
        command('send', { name: 'name', text: 'text' }),
        '.',
      ];
  }
}
