/**
 * Runs the Discord adapter in this process against the Discord emulator, a real Redis and a real
 * Operator (optionally through a proxy that can hold back collective sends), and plays Discord
 * users: the harness of the Discord end-to-end tests.
 */
import { createServer, request, type Server } from 'node:http';
import { startDiscordAdapter, type DiscordAdapter } from '../../adapters/discord/adapter.js';
import { COLLECTIVE_ROUTES } from '../../common/wire/index.js';
import {
  startAdapterHarness,
  type HarnessOptions,
  type RunningAdapter,
} from './adapter-harness.js';
import type {
  DiscordEmulator,
  EmulatedUser,
  InteractionReply,
  SlashValue,
} from './discord-emulator.js';

/** Options for {@link startDiscordBridge}. */
export interface DiscordBridgeOptions extends HarnessOptions {
  readonly emulator: DiscordEmulator;
}

/** A running in-process Discord adapter with its logs. */
export type RunningDiscordBridge = RunningAdapter<DiscordAdapter, EmulatedUser>;

/** Starts the adapter in-process. */
export function startDiscordBridge(options: DiscordBridgeOptions): Promise<RunningDiscordBridge> {
  return startAdapterHarness(options, {
    platform: 'discord',
    start: (host) =>
      startDiscordAdapter({
        ...host,
        token: options.emulator.token,
        apiRoot: options.emulator.url,
      }),
    userKey: (user) => `discord:${user.id}`,
  });
}

/**
 * A user runs a slash command and the test gets the bot's answer (for a deferred answer, its
 * first edit, which is the final one unless a proof of work runs for more than 2 s).
 */
export function slash(
  emulator: DiscordEmulator,
  channelId: string,
  user: EmulatedUser,
  command: string,
  options: Record<string, SlashValue> = {},
): Promise<InteractionReply> {
  return emulator.slash(channelId, user.id, command, options, { timeoutMs: 30_000 });
}

/** The user registers `name` with `/register` and the test checks the bot confirmed it. */
export async function registerOnDiscord(
  emulator: DiscordEmulator,
  channelId: string,
  user: EmulatedUser,
  name: string,
): Promise<void> {
  const reply = await slash(emulator, channelId, user, 'register', { name });
  if (!reply.content.includes(`Registered as @${name}`)) {
    throw new Error(`/register ${name} answered: ${reply.content}`);
  }
}

/**
 * A loopback HTTP proxy in front of the Operator that can answer collective sends with 503, as
 * if the Operator were briefly unreachable for them: the test's way to keep a message in the
 * bridge's outbox while it restarts.
 */
export interface OperatorProxy {
  readonly url: string;
  /** Refuse (true) or forward (false) `POST /v1/collectives/send`. */
  holdCollectiveSends(hold: boolean): void;
  /** How many collective sends were refused so far. */
  readonly refused: number;
  close(): Promise<void>;
}

/** Starts an {@link OperatorProxy} to `upstream` (an `http://127.0.0.1:port` URL). */
export async function startOperatorProxy(upstream: string): Promise<OperatorProxy> {
  const target = new URL(upstream);
  let hold = false;
  let refused = 0;
  const server: Server = createServer((req, res) => {
    if (hold && req.method === 'POST' && req.url === COLLECTIVE_ROUTES.send) {
      refused++;
      req.resume();
      res.writeHead(503).end();
      return;
    }
    const forward = request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    forward.on('error', () => {
      res.destroy();
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolveListen) => {
    server.listen(0, '127.0.0.1', () => {
      resolveListen();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return {
    url: `http://127.0.0.1:${port}`,
    holdCollectiveSends: (on) => {
      hold = on;
    },
    get refused() {
      return refused;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolveClose) => {
        server.close(() => {
          resolveClose();
        });
      });
    },
  };
}
