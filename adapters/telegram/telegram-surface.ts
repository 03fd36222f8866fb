/** `TelegramSurface`: the engine's `ChatSurface` on the Telegram Bot API (through grammY's `Api`). */
import type { Api } from 'grammy';
import {
  collectiveMessageDisplay,
  letterDisplay,
  noticeText,
  render,
  type ChatNotice,
  type ChatSurface,
  type CollectiveMessageForChat,
  type LetterForChat,
} from '../../bridge/index.js';
import { firstContactButtons } from './buttons.js';
import { TELEGRAM, splitForTelegram } from './surface.js';

/** Shows letters and notices in private Telegram chats. `chat` is the chat id as a string. */
export class TelegramSurface implements ChatSurface {
  readonly #api: Api;

  /** @param api - a grammY `Api` whose transformers pace requests and honour `retry_after` */
  constructor(api: Api) {
    this.#api = api;
  }

  async deliverLetter(chat: string, letter: LetterForChat): Promise<string> {
    // A reply to the letter answers its sender (engine.answer).
    const chunks = splitForTelegram(render(letterDisplay(letter, true), TELEGRAM));
    const keyboard = letter.firstContact ? firstContactButtons(letter.from) : undefined;
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
    for (const chunk of splitForTelegram(render(collectiveMessageDisplay(message), TELEGRAM))) {
      const sent = await this.#api.sendMessage(chat, chunk);
      first ??= sent.message_id;
    }
    return String(first);
  }

  async notify(chat: string, notice: ChatNotice): Promise<void> {
    for (const chunk of splitForTelegram(render(noticeText(notice, TELEGRAM), TELEGRAM)))
      await this.#api.sendMessage(chat, chunk);
  }
}
