/**
 * What the engine pushes into a chat, worded once: letters, collective messages and notices.
 */
import type { KeyHolder } from '../../../common/wire/index.js';
import type { ChatNotice, CollectiveMessageForChat, LetterForChat } from '../chat-surface.js';
import { describeChange, trustLabel } from '../collective-texts.js';
import {
  command,
  count,
  lines,
  name,
  strong,
  time,
  untrusted,
  verbatim,
  type Rich,
} from './rich-text.js';
import { offers, type Surface } from './surface.js';

// Labels are open (a surface added later has its own): any other shows as itself.
const BRIDGE_NAMES: Partial<Record<KeyHolder, string>> = {
  telegram: 'Telegram',
  discord: 'Discord',
};

/**
 * The mark for a komrade whose keys an adapter holds (its host can read what they write), from
 * their signed registration; nothing for keys on the komrade's own device.
 */
export function keyHolderMark(keyHolder: KeyHolder | null | undefined): string | undefined {
  if (keyHolder === null || keyHolder === undefined || keyHolder === 'self') return undefined;
  return `🤖 keys held by a ${BRIDGE_NAMES[keyHolder] ?? keyHolder} bridge`;
}

/** A letter or post as pushed into the chat; `replies`: the surface answers a reply to it. */
export function letterDisplay(letter: LetterForChat, replies: boolean): Rich {
  const head = letter.post
    ? ['📣 Post from ', name(letter.from)]
    : letter.firstContact
      ? ['👋 First letter from ', name(letter.from), ' (not accepted yet)']
      : ['✉️ Letter from ', name(letter.from)];
  const mark = keyHolderMark(letter.senderKeyHolder);
  return lines(
    head,
    `🕒 ${time(letter.sentAt)}`,
    mark,
    '',
    verbatim(letter.text),
    ...(replies && !letter.firstContact ? ['', '↩️ Reply to this message to answer.'] : []),
  );
}

/** A collective message as pushed into the chat: the collective, the sender and trust label. */
export const collectiveMessageDisplay = (message: CollectiveMessageForChat): Rich => [
  strong(['[', name(message.collective), '] ', name(message.from)]),
  ` (${trustLabel(message.senderKeyHolder)}): `,
  verbatim(message.text),
];

/** Something the engine tells a user on its own initiative. */
export function noticeText(notice: ChatNotice, surface: Surface): Rich {
  switch (notice.kind) {
    case 'send-failed':
      return ['Your letter to ', name(notice.to), ` could not be delivered (${notice.code}).`];
    case 'sent':
      return ['Sealed and on its way to ', name(notice.to), '.'];
    case 'new-follower':
      return [name(notice.name), ' now follows you.'];
    case 'session-reset':
      return notice.lost
        ? [
            'A letter from ',
            name(notice.name),
            ' could not be opened here, so your session with them was reset. Ask them to send it again.',
          ]
        : [name(notice.name), "'s session was reset (they restored a backup or lost it)."];
    case 'collective-send-failed':
      return [
        'Your message to ',
        name(notice.collective),
        ` could not be delivered (${notice.code}).`,
      ];
    case 'collective-join-request':
      return lines(
        [
          name(notice.candidate),
          ' asks to join ',
          name(notice.collective),
          ...(notice.note.length > 0 ? [': “', untrusted(notice.note), '”'] : ['.']),
        ],
        [
          'Vouch for them with ',
          command('vouch', { collective: notice.collective, candidate: notice.candidate }),
          ` (${count(notice.quorum, 'vouch', 'vouches')} needed).`,
        ],
      );
    case 'collective-vouched':
      return notice.admitted
        ? [
            name(notice.voucher),
            ' vouched for you: you are now a member of ',
            name(notice.collective),
            '.',
            ...(offers(surface, 'say')
              ? [
                  ' Write to it with ',
                  command('say', { collective: notice.collective, text: 'text' }),
                  '.',
                ]
              : []),
          ]
        : [
            name(notice.voucher),
            ' vouched for you in ',
            name(notice.collective),
            ` (${notice.vouches}/${notice.quorum}).`,
          ];
    case 'collective-proposal':
      return lines(
        [
          name(notice.proposer),
          ' proposes in ',
          name(notice.collective),
          ` (#${notice.proposal}): ${describeChange(notice.change, notice.inForce)}.`,
        ],
        [
          `Vote by ${time(notice.closesAt)}: `,
          command('vote', {
            collective: notice.collective,
            proposal: String(notice.proposal),
            choice: 'yes',
          }),
          ' (or no)',
        ],
      );
    case 'collective-enacted':
      return [
        `Proposal #${notice.proposal} in `,
        name(notice.collective),
        ` passed: ${describeChange(notice.change, notice.before)}.`,
      ];
  }
}
