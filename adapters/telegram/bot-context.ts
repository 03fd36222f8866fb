/** The context every handler gets, and who and what an update is, as the engine knows them. */
import type { Context } from 'grammy';
import type { BridgeEngine, CommandCaller } from '../../bridge/index.js';
import type { Logger } from '../../common/logging/index.js';

/** Bridge services every handler reaches through its context (a grammY context flavor). */
export interface KomradeFlavor {
  readonly komrade: { readonly engine: BridgeEngine; readonly logger: Logger };
}
export type BotContext = Context & KomradeFlavor;

/** The Telegram user key the engine knows an identity by (kept only in the adapter's store). */
export const userKey = (ctx: Context): string => `telegram:${String(ctx.from?.id)}`;

/**
 * The update a handler acts on, as the engine records it: Telegram delivers an update again when
 * the bot died before confirming it, and the engine then acts on it once.
 */
export const eventOf = (ctx: Context): { readonly event: string } => ({
  event: `telegram:${ctx.me.id}:${ctx.update.update_id}`,
});

/** Who runs a kit command from this update, and where the engine reaches them later. */
export const callerOf = (ctx: BotContext): CommandCaller => ({
  engine: ctx.komrade.engine,
  user: userKey(ctx),
  chat: String(ctx.chat?.id ?? ctx.from?.id),
  event: eventOf(ctx),
});
