/** `TelegramSurface`: the engine's `ChatSurface` on the Telegram Bot API (through grammY's `Api`). */
import { InlineKeyboard, type Api } from 'grammy';
import type {
  ChatNotice,
  ChatSurface,
  CollectiveMessageForChat,
  LetterForChat,
} from '../../bridge/index.js';
import { collectiveMessageText, letterMessage, splitForTelegram, texts } from './texts.js';

/** Shows letters and notices in private Telegram chats. `chat` is the chat id as a string. */
export class TelegramSurface implements ChatSurface {
  readonly #api: Api;

  /** @param api - a grammY `Api` whose transformers pace requests and honour `retry_after` */
  constructor(api: Api) {
    this.#api = api;
  }

  async deliverLetter(chat: string, letter: LetterForChat): Promise<string> {
    const chunks = splitForTelegram(letterMessage(letter));
    const keyboard = letter.firstContact
      ? new InlineKeyboard()
          .text('Accept', `acc:${letter.from}`)
          .text('Block', `blk:${letter.from}`)
      : undefined;
    let first: number | undefined;
    for (const [index, chunk] of chunks.entries()) {
      const last = index === chunks.length - 1;
      const sent = await this.#api.sendMessage(
        chat,
        chunk,
        last && keyboard !== undefined ? { reply_markup: keyboard } : {},
      );
      first ??= sent.message_id;
    }
    return String(first);
  }

  async deliverCollectiveMessage(chat: string, message: CollectiveMessageForChat): Promise<string> {
    let first: number | undefined;
    for (const chunk of splitForTelegram(collectiveMessageText(message))) {
      const sent = await this.#api.sendMessage(chat, chunk);
      first ??= sent.message_id;
    }
    return String(first);
  }

  async notify(chat: string, notice: ChatNotice): Promise<void> {
    await this.#api.sendMessage(chat, noticeText(notice));
  }
}

function noticeText(notice: ChatNotice): string {
  switch (notice.kind) {
    case 'send-failed':
      return texts.sendFailed(notice.to, notice.code);
    case 'sent':
      return texts.queued(notice.to);
    case 'new-follower':
      return texts.newFollower(notice.name);
    case 'collective-send-failed':
      return texts.collectiveSendFailed(notice.collective, notice.code);
    case 'collective-join-request':
      return texts.joinRequestNotice(
        notice.collective,
        notice.candidate,
        notice.note,
        notice.quorum,
      );
    case 'collective-vouched':
      return texts.vouchedNotice(
        notice.collective,
        notice.voucher,
        notice.vouches,
        notice.quorum,
        notice.admitted,
      );
    case 'collective-proposal':
      return texts.proposalNotice(
        notice.collective,
        notice.proposal,
        notice.proposer,
        notice.change,
        notice.inForce,
        notice.closesAt,
      );
    case 'collective-enacted':
      return texts.enactedNotice(notice.collective, notice.proposal, notice.change, notice.before);
  }
}
