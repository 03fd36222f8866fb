/** Who you are here: help, registering a name (a proof of work), your keys. */
import { stringArg, type CommandSpec } from '../command.js';

const help: CommandSpec = {
  name: 'help',
  summary: 'What Komrade is and every command',
  args: [],
  needs: 'nothing',
  run: () => ({ kind: 'help', first: false }),
};

const start: CommandSpec = {
  name: 'start',
  summary: 'What Komrade is and how to begin',
  args: [],
  needs: 'nothing',
  run: () => ({ kind: 'help', first: true }),
};

const register: CommandSpec = {
  name: 'register',
  summary: 'Get a Komrade identity and name, held by this bot',
  args: [
    {
      name: 'name',
      kind: 'new-name',
      description: 'Your Komrade name: 3–32 letters a–z, digits or _',
      placeholder: 'NAME',
      maxLength: 40,
    },
  ],
  needs: 'nothing',
  proofOfWork: true,
  run: async ({ engine, user, chat, onProgress }, args) => {
    const existing = engine.identityOf(user);
    if (existing?.name != null) return { kind: 'already-registered', name: existing.name };
    const id = existing?.id ?? engine.createIdentity(user, chat);
    const profile = await engine.register(
      id,
      stringArg(args, 'name'),
      onProgress === undefined ? {} : { onProgress },
    );
    return { kind: 'registered', name: profile.name };
  },
};

const whoami: CommandSpec = {
  name: 'whoami',
  summary: 'Your name and keys',
  args: [],
  needs: 'identity',
  run: ({ engine, me }) => ({ kind: 'whoami', me: engine.client(me.id).whoami() }),
};

const verifyme: CommandSpec = {
  name: 'verifyme',
  summary: 'Is my key still mine? Checks the Operator’s registry log',
  args: [],
  needs: 'registered',
  run: async ({ engine, me }) => ({ kind: 'verified', verdict: await engine.verifyMe(me.id) }),
};

export const IDENTITY_COMMANDS: readonly CommandSpec[] = [start, help, register, whoami, verifyme];
