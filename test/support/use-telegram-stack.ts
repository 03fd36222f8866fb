/** A test file's Telegram stack: started before its tests, stopped after them. */
import { afterAll, beforeAll } from 'vitest';
import { register, startTelegramStack, type TelegramStack } from './telegram-bridge.js';
import { TelegramEmulator, type EmulatedUser } from './telegram-emulator.js';

/**
 * Starts a {@link TelegramStack} in `beforeAll`, registering each of `users` under its key there,
 * and stops it in `afterAll` (unless a test stopped it first). The emulator exists at once (it starts with the stack); the other
 * parts exist once the stack started, so read them inside tests and hooks only.
 * @param users - komrade name to Telegram user, e.g. `{ alice, bob }`
 */
export function useTelegramStack(
  users: Readonly<Record<string, EmulatedUser>> = {},
): TelegramStack {
  const emulator = new TelegramEmulator();
  let started: TelegramStack | undefined;
  const get = (): TelegramStack => {
    if (started === undefined) throw new Error('The Telegram stack is started in beforeAll.');
    return started;
  };
  beforeAll(async () => {
    started = await startTelegramStack(emulator);
    await Promise.all(Object.entries(users).map(([name, user]) => register(emulator, user, name)));
  });
  afterAll(async () => {
    await started?.stop();
  });
  return {
    emulator,
    get operator() {
      return get().operator;
    },
    get redis() {
      return get().redis;
    },
    get bridge() {
      return get().bridge;
    },
    stop: async () => {
      const stack = get();
      started = undefined;
      await stack.stop();
    },
  };
}
