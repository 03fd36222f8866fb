/**
 * Builds and runs the Discord adapter from already-made parts: the discord.js client (its REST
 * queue paces every request and retries 429s), the Discord chat surface, the channel bridge, the
 * slash commands and the bridge engine. main.ts supplies production parts; tests supply a local
 * Discord emulator and Operator.
 */
import { join } from 'node:path';
import { Client, DefaultRestOptions, Events, GatewayIntentBits } from 'discord.js';
import {
  SqliteChannelLinkStore,
  createBridgeEngine,
  openBridgeVault,
  type BridgeEngine,
  type BridgeHostDeps,
  type ChannelLinkStore,
} from '../../bridge/index.js';
import { isKomradeError } from '../../common/errors/index.js';
import { ChannelBridge } from './channel-bridge.js';
import { CommandHandler } from './command-handler.js';
import { COMMANDS } from './commands.js';
import { DiscordSurface } from './discord-surface.js';
import { PuppetPoster } from './puppets.js';

/** What {@link startDiscordAdapter} is built from. */
export interface DiscordAdapterDeps extends BridgeHostDeps {
  readonly token: string;
  /** Discord's REST root (the gateway address comes from it). @defaultValue https://discord.com/api */
  readonly apiRoot?: string;
  /**
   * Servers to register the slash commands in (at once); none registers them globally (Discord
   * may take a while to show global ones everywhere). @defaultValue none
   */
  readonly commandGuilds?: readonly string[];
}

/** A running adapter. */
export interface DiscordAdapter {
  readonly engine: BridgeEngine;
  readonly client: Client;
  readonly store: ChannelLinkStore;
  /** Stops taking commands and messages, lets running jobs finish, logs out, closes the stores. */
  stop(): Promise<void>;
}

/**
 * discord.js's default request hands a file upload's FormData to the undici it bundles, which
 * fails ("action is not a function") once the bridge's newer undici is loaded, since both share
 * the global dispatcher. Encoding the form to bytes first keeps uploads working.
 */
const encodeFormData: typeof DefaultRestOptions.makeRequest = async (url, init) => {
  if (!(init.body instanceof FormData)) return DefaultRestOptions.makeRequest(url, init);
  const encoded = new Response(init.body);
  // discord.js passes headers as a plain object, and none for the form's content type.
  const headers = {
    ...(init.headers as Record<string, string> | undefined),
    'content-type': encoded.headers.get('content-type') ?? 'multipart/form-data',
  };
  return DefaultRestOptions.makeRequest(url, {
    ...init,
    headers,
    body: new Uint8Array(await encoded.arrayBuffer()),
  });
};

/**
 * Starts the adapter and resolves once it is connected to Discord with its commands registered.
 * @throws `CONFIG_INVALID` for a bad master key; discord.js's errors for a refused token
 */
export async function startDiscordAdapter(deps: DiscordAdapterDeps): Promise<DiscordAdapter> {
  const { logger } = deps;
  const vault = openBridgeVault(deps);
  const store = new SqliteChannelLinkStore(join(deps.dataDir, 'discord.db'), vault.keys, deps.now);
  const client = new Client({
    intents: [
      GatewayIntentBits.Guilds,
      GatewayIntentBits.GuildMessages,
      // Privileged: switch it on in the Developer Portal, or linked channels read as empty.
      GatewayIntentBits.MessageContent,
    ],
    rest: { api: deps.apiRoot ?? 'https://discord.com/api', makeRequest: encodeFormData },
    // Texts come from other platforms: never let them ping anyone.
    allowedMentions: { parse: [] },
  });
  const puppets = new PuppetPoster(client, store, logger);
  const surface: DiscordSurface = new DiscordSurface({
    client,
    store,
    puppets,
    logger,
    isMember: async (identity: string, collective: string): Promise<boolean> => {
      try {
        return (await engine.collective(identity, collective)).standing === 'member';
      } catch (error) {
        if (
          isKomradeError(error, 'NOT_MEMBER') ||
          isKomradeError(error, 'KEYSTORE_MISSING') ||
          isKomradeError(error, 'NOT_REGISTERED')
        ) {
          return false;
        }
        throw error;
      }
    },
  });
  const engine: BridgeEngine = createBridgeEngine(deps, vault, surface, 'discord');
  const commands = new CommandHandler({ engine, store, puppets, surface, logger });
  const channels = new ChannelBridge({ client, engine, store, surface, logger });

  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  ready.catch(() => undefined);
  client.once(Events.ClientReady, () => {
    markReady();
  });
  client.on(Events.InteractionCreate, (interaction) => {
    if (interaction.isChatInputCommand()) void commands.handle(interaction);
  });
  client.on(Events.MessageCreate, (message) => {
    channels.onMessage(message);
  });
  client.on(Events.ChannelDelete, (channel) => {
    // Its webhook went with it; the link has nothing left to carry.
    if (store.unlink(channel.id) !== undefined) logger.info('discord.link_gone', {});
    store.forgetWebhook(channel.id);
  });
  client.on(Events.Error, (error) => {
    logger.warn('discord.client_error', { code: error.name });
  });
  // Queued before any live message, so each linked channel is read in order from its cursor.
  channels.catchUp(ready);
  const close = async () => {
    commands.stop();
    await channels.stop();
    await engine.close();
    await client.destroy();
    vault.store.close();
    store.close();
  };

  try {
    await client.login(deps.token);
    await ready;
    const application = client.application;
    if (application === null) throw new Error('no application after READY');
    const guilds = deps.commandGuilds ?? [];
    if (guilds.length === 0) await application.commands.set([...COMMANDS]);
    for (const guild of guilds) await application.commands.set([...COMMANDS], guild);
    await engine.start();
  } catch (error) {
    failReady(error instanceof Error ? error : new Error('startup failed'));
    await close();
    throw error;
  }
  logger.info('discord.started', { queues: deps.queuePrefix });
  return { engine, client, store, stop: close };
}
