/** An `OperatorClient` built on first use, so local-only commands never start tor or connect. */
import type { OperatorClient } from '../../bridge/index.js';

/** The arguments of operation `K`, passed on as they came. */
type Args<K extends keyof OperatorClient> = Parameters<OperatorClient[K]>;

/** Delegates to the client `open` resolves to, calling `open` once, on the first operation. */
export class LazyOperatorClient implements OperatorClient {
  readonly #open: () => Promise<OperatorClient>;
  #client: Promise<OperatorClient> | undefined;

  constructor(open: () => Promise<OperatorClient>) {
    this.#open = open;
  }

  #get(): Promise<OperatorClient> {
    this.#client ??= this.#open();
    return this.#client;
  }

  async info(...args: Args<'info'>) {
    return (await this.#get()).info(...args);
  }

  async register(...args: Args<'register'>) {
    return (await this.#get()).register(...args);
  }

  async lookup(...args: Args<'lookup'>) {
    return (await this.#get()).lookup(...args);
  }

  async send(...args: Args<'send'>) {
    return (await this.#get()).send(...args);
  }

  async fetch(...args: Args<'fetch'>) {
    return (await this.#get()).fetch(...args);
  }

  async ack(...args: Args<'ack'>) {
    return (await this.#get()).ack(...args);
  }

  async post(...args: Args<'post'>) {
    return (await this.#get()).post(...args);
  }

  async feedPage(...args: Args<'feedPage'>) {
    return (await this.#get()).feedPage(...args);
  }

  async createCollective(...args: Args<'createCollective'>) {
    return (await this.#get()).createCollective(...args);
  }

  async appendEvent(...args: Args<'appendEvent'>) {
    return (await this.#get()).appendEvent(...args);
  }

  async collectiveHead(...args: Args<'collectiveHead'>) {
    return (await this.#get()).collectiveHead(...args);
  }

  async collectiveLog(...args: Args<'collectiveLog'>) {
    return (await this.#get()).collectiveLog(...args);
  }

  async sendToCollective(...args: Args<'sendToCollective'>) {
    return (await this.#get()).sendToCollective(...args);
  }
}
