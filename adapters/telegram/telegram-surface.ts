/** `TelegramSurface`: the engine's `ChatSurface` on the Telegram Bot API (through grammY's `Api`). */
import { InlineKeyboard, type Api } from 'grammy';
import type { ChatNotice, ChatSurface, LetterForChat } from '../../bridge/index.js';
import { letterMessage, splitForTelegram, texts } from './texts.js';

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

  async notify(chat: string, notice: ChatNotice): Promise<void> {
    switch (notice.kind) {
      case 'send-failed':
        await this.#api.sendMessage(chat, texts.sendFailed(notice.to, notice.code));
        return;
      case 'sent':
        await this.#api.sendMessage(chat, texts.queued(notice.to));
        return;
      case 'new-follower':
        await this.#api.sendMessage(chat, texts.newFollower(notice.name));
        return;
    }
  }
}
