/** An `OperatorClient` built on first use, so local-only commands never start tor or connect. */
import type {
  FeedPageRequest,
  FetchedLetters,
  OperatorClient,
  OutgoingLetter,
  PostedToFeed,
  RequestSigner,
  SentLetters,
} from '../../bridge/index.js';
import type { OperatorInfo, Receipt, RegisterRequest } from '../../common/wire/index.js';

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

  async info(): Promise<OperatorInfo> {
    return (await this.#get()).info();
  }

  async register(request: RegisterRequest): Promise<Receipt> {
    return (await this.#get()).register(request);
  }

  async lookup(name: string): Promise<Receipt> {
    return (await this.#get()).lookup(name);
  }

  async send(signer: RequestSigner, letters: readonly OutgoingLetter[]): Promise<SentLetters> {
    return (await this.#get()).send(signer, letters);
  }

  async fetch(signer: RequestSigner, limit?: number): Promise<FetchedLetters> {
    return (await this.#get()).fetch(signer, limit);
  }

  async ack(signer: RequestSigner, ids: readonly Uint8Array[]): Promise<number> {
    return (await this.#get()).ack(signer, ids);
  }

  async post(signer: RequestSigner, sealed: Uint8Array): Promise<PostedToFeed> {
    return (await this.#get()).post(signer, sealed);
  }

  async feedPage(signer: RequestSigner, request?: FeedPageRequest): Promise<Uint8Array> {
    return (await this.#get()).feedPage(signer, request);
  }
}
