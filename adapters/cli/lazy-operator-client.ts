/** An `OperatorClient` built on first use, so local-only commands never start tor or connect. */
import type { OperatorClient } from '../../client/index.js';

/** The arguments of operation `K`, passed on as they came. */
type Args<K extends keyof OperatorClient> = Parameters<OperatorClient[K]>;

/**
 * Delegates to the client `open` resolves to, calling `open` once, on the first operation. A
 * failed operation's error goes through `explain` (e.g. to say the Operator, not Tor, is down).
 */
export class LazyOperatorClient implements OperatorClient {
  readonly #open: () => Promise<OperatorClient>;
  readonly #explain: (error: unknown) => unknown;
  #client: Promise<OperatorClient> | undefined;

  constructor(
    open: () => Promise<OperatorClient>,
    explain: (error: unknown) => unknown = (error) => error,
  ) {
    this.#open = open;
    this.#explain = explain;
  }

  async #do<T>(call: (client: OperatorClient) => Promise<T>): Promise<T> {
    this.#client ??= this.#open();
    const client = await this.#client;
    try {
      return await call(client);
    } catch (error) {
      throw this.#explain(error);
    }
  }

  info(...args: Args<'info'>) {
    return this.#do((c) => c.info(...args));
  }

  register(...args: Args<'register'>) {
    return this.#do((c) => c.register(...args));
  }

  lookup(...args: Args<'lookup'>) {
    return this.#do((c) => c.lookup(...args));
  }

  logCheckpoint(...args: Args<'logCheckpoint'>) {
    return this.#do((c) => c.logCheckpoint(...args));
  }

  logConsistency(...args: Args<'logConsistency'>) {
    return this.#do((c) => c.logConsistency(...args));
  }

  logEntries(...args: Args<'logEntries'>) {
    return this.#do((c) => c.logEntries(...args));
  }

  setRatchetKey(...args: Args<'setRatchetKey'>) {
    return this.#do((c) => c.setRatchetKey(...args));
  }

  uploadPrekeys(...args: Args<'uploadPrekeys'>) {
    return this.#do((c) => c.uploadPrekeys(...args));
  }

  fetchPrekeyBundle(...args: Args<'fetchPrekeyBundle'>) {
    return this.#do((c) => c.fetchPrekeyBundle(...args));
  }

  issueTokens(...args: Args<'issueTokens'>) {
    return this.#do((c) => c.issueTokens(...args));
  }

  sendAnonymously(...args: Args<'sendAnonymously'>) {
    return this.#do((c) => c.sendAnonymously(...args));
  }

  fetch(...args: Args<'fetch'>) {
    return this.#do((c) => c.fetch(...args));
  }

  waitForMail(...args: Args<'waitForMail'>) {
    return this.#do((c) => c.waitForMail(...args));
  }

  ack(...args: Args<'ack'>) {
    return this.#do((c) => c.ack(...args));
  }

  post(...args: Args<'post'>) {
    return this.#do((c) => c.post(...args));
  }

  feedPage(...args: Args<'feedPage'>) {
    return this.#do((c) => c.feedPage(...args));
  }

  createCollective(...args: Args<'createCollective'>) {
    return this.#do((c) => c.createCollective(...args));
  }

  appendEvent(...args: Args<'appendEvent'>) {
    return this.#do((c) => c.appendEvent(...args));
  }

  collectiveHead(...args: Args<'collectiveHead'>) {
    return this.#do((c) => c.collectiveHead(...args));
  }

  collectiveLog(...args: Args<'collectiveLog'>) {
    return this.#do((c) => c.collectiveLog(...args));
  }

  sendToCollective(...args: Args<'sendToCollective'>) {
    return this.#do((c) => c.sendToCollective(...args));
  }
}
