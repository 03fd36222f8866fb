/** Builds real, signed collective logs for tests and the benchmark: a tiny registry plus a clock. */
import { generateIdentityKeys, type IdentityKeys } from '../../common/crypto/index.js';
import {
  CollectiveLog,
  DEFAULT_CONSTITUTION,
  genesisDraft,
  signCollectiveEvent,
  type CollectiveEvent,
  type CollectiveEventKind,
  type CollectiveEventOf,
  type CollectiveLookups,
  type Constitution,
  type SignedCollectiveEvent,
} from '../../common/collectives/index.js';
import type { KeyHolder } from '../../common/wire/index.js';

type Kind = Exclude<CollectiveEventKind, 'genesis'>;

/** A registry of names with real libsodium keys, and the lookups the rule engine takes. */
export class TestRegistry implements CollectiveLookups {
  readonly keys = new Map<string, IdentityKeys>();
  readonly holders = new Map<string, KeyHolder>();

  register(name: string, holder: KeyHolder = 'self'): IdentityKeys {
    const existing = this.keys.get(name);
    if (existing !== undefined) return existing;
    const keys = generateIdentityKeys();
    this.keys.set(name, keys);
    this.holders.set(name, holder);
    return keys;
  }

  secretOf(name: string): Uint8Array {
    return this.register(name).signSecret;
  }

  keyOf(name: string): Uint8Array | undefined {
    return this.keys.get(name)?.signPublic;
  }

  keyHolderOf(name: string): KeyHolder | undefined {
    return this.holders.get(name);
  }

  boxKeyOf(name: string): Uint8Array | undefined {
    return this.keys.get(name)?.boxPublic;
  }
}

/**
 * Writes a collective's log the way honest clients would: each event drafted from the current
 * head, signed with the actor's real key and appended through the rule engine (which throws on a
 * rule break, so a test never builds an invalid history by accident).
 */
export class CollectiveWriter {
  readonly registry: TestRegistry;
  readonly log: CollectiveLog;
  readonly events: SignedCollectiveEvent[] = [];
  now: number;

  constructor(registry = new TestRegistry(), start = 1_700_000_000_000) {
    this.registry = registry;
    this.log = new CollectiveLog(registry);
    this.now = start;
  }

  genesis(
    collective: string,
    founders: readonly string[],
    constitution: Constitution = DEFAULT_CONSTITUTION,
  ): SignedCollectiveEvent {
    for (const f of founders) this.registry.register(f);
    const actor = founders[0];
    if (actor === undefined) throw new Error('a genesis needs a founder');
    const draft = genesisDraft(collective, actor, this.now, {
      founders: [...founders],
      constitution,
    });
    return this.#append(draft);
  }

  /** Signs and appends the next event; throws the rule error if the engine refuses it. */
  act<K extends Kind>(
    kind: K,
    actor: string,
    body: CollectiveEventOf<K>['body'],
    advanceMs = 1_000,
  ): SignedCollectiveEvent {
    this.registry.register(actor);
    this.now += advanceMs;
    return this.#append(this.log.draft(kind, actor, this.now, body));
  }

  /** Signs the next event without appending it (for events a test expects to be refused). */
  sign<K extends Kind>(
    kind: K,
    actor: string,
    body: CollectiveEventOf<K>['body'],
    advanceMs = 1_000,
  ): SignedCollectiveEvent {
    this.registry.register(actor);
    return signCollectiveEvent(
      this.log.draft(kind, actor, this.now + advanceMs, body),
      this.registry.secretOf(actor),
    );
  }

  /** Like {@link CollectiveWriter.act}, but a refused event is dropped: returns whether it was appended. */
  tryAct<K extends Kind>(
    kind: K,
    actor: string,
    body: CollectiveEventOf<K>['body'],
    advanceMs = 1_000,
  ): boolean {
    const signed = this.sign(kind, actor, body, advanceMs);
    if (!this.log.append(signed).ok) return false;
    this.now += advanceMs;
    this.events.push(signed);
    return true;
  }

  /** Join request, enough vouches from `vouchers`, and the admit (by the candidate). */
  admit(candidate: string, vouchers: readonly string[]): void {
    this.act('join-request', candidate, { note: '' });
    for (const v of vouchers) this.act('vouch', v, { candidate });
    this.act('admit', candidate, { candidate });
  }

  #append(event: CollectiveEvent): SignedCollectiveEvent {
    const signed = signCollectiveEvent(event, this.registry.secretOf(event.actor));
    const appended = this.log.append(signed);
    if (!appended.ok) throw appended.error;
    this.events.push(signed);
    return signed;
  }
}
