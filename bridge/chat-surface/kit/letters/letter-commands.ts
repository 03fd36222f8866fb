/** Letters between komrades: send, inbox, first contacts (accept or block). */
import { stringArg, type ArgSpec, type CommandSpec } from '../command.js';

/** How many letters the inbox shows. */
const INBOX_SHOWN = 10;

/** The komrade a letter command is about. */
const komradeArg = (description: string): ArgSpec => ({
  name: 'name',
  kind: 'name',
  description,
  placeholder: '@name',
  maxLength: 40,
});

const send: CommandSpec = {
  name: 'send',
  summary: 'Write a letter only you and they can read',
  example: { name: 'dave', text: 'See you at the assembly' },
  args: [
    komradeArg('Who to write to, e.g. dave'),
    { name: 'text', kind: 'text', description: 'The letter', placeholder: 'text' },
  ],
  needs: 'identity',
  run: async ({ engine, me, event }, args) => {
    const sent = await engine.send(me.id, stringArg(args, 'name'), stringArg(args, 'text'), event);
    return { kind: 'letter-sent', to: sent.to };
  },
};

const inbox: CommandSpec = {
  name: 'inbox',
  summary: 'Your latest letters',
  args: [],
  needs: 'identity',
  run: ({ engine, me }) => ({
    kind: 'inbox',
    letters: engine.client(me.id).inbox().slice(-INBOX_SHOWN),
  }),
};

const requests: CommandSpec = {
  name: 'requests',
  summary: 'First letters from people you have not accepted',
  args: [],
  needs: 'identity',
  run: ({ engine, me }) => ({ kind: 'requests', requests: engine.client(me.id).requests() }),
};

const accept: CommandSpec = {
  name: 'accept',
  summary: 'Accept a first contact: their letters go to your inbox',
  args: [komradeArg('Who wrote to you first')],
  needs: 'identity',
  run: ({ engine, me }, args) => {
    const { name, moved } = engine.client(me.id).accept(stringArg(args, 'name'));
    return { kind: 'accepted', name, moved };
  },
};

const block: CommandSpec = {
  name: 'block',
  summary: 'Block a first contact: their letters are dropped',
  args: [komradeArg('Who wrote to you first')],
  needs: 'identity',
  run: ({ engine, me }, args) => {
    const { name } = engine.client(me.id).block(stringArg(args, 'name'));
    return { kind: 'blocked', name };
  },
};

/** Every letter command, in the order help lists them. */
export const LETTER_COMMANDS: readonly CommandSpec[] = [send, inbox, requests, accept, block];
