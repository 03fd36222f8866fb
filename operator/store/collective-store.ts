/** The CollectiveStore port: collectives and their append-only event logs, kept forever. */

/** An event as stored and served: the actor's exact signed bytes and signature. */
export interface StoredCollectiveEvent {
  readonly signed: Uint8Array;
  readonly sig: Uint8Array;
}

/** A new collective: its (folded, canonical) name, its genesis event and when it was created. */
export interface NewCollective {
  readonly name: string;
  readonly genesis: StoredCollectiveEvent;
  readonly createdAt: number;
}

/**
 * Stores logs, never judges them: the caller checks every event against the rules first. Like
 * names and keys, collectives and events are never updated or deleted. Collective names share
 * the namespace of komrade names: a name is a komrade's or a collective's, never both.
 */
export interface CollectiveStore {
  /**
   * Records a new collective with its genesis as event 0, first come first served.
   * @throws KomradeError `NAME_TAKEN` when a komrade or a collective has the name or a look-alike
   * of it (same `nameSkeleton`)
   */
  createCollective(collective: NewCollective): Promise<void>;
  /** True when `name` is a collective's. */
  isCollective(name: string): Promise<boolean>;
  /**
   * Appends `event` as number `seq` of the collective's log.
   * @throws KomradeError `NAME_UNKNOWN` for no such collective, `COLLECTIVE_CONFLICT` when `seq`
   * is not the log's current length (another event took that place first)
   */
  appendCollectiveEvent(
    collective: string,
    seq: number,
    event: StoredCollectiveEvent,
  ): Promise<void>;
  /** Up to `limit` events from number `from` on, in order (none for an unknown collective). */
  collectiveEvents(
    collective: string,
    from: number,
    limit: number,
  ): Promise<StoredCollectiveEvent[]>;
}
