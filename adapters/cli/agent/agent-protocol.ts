/**
 * The agent's wire format on its Unix socket: one request per connection, one reply, then the
 * agent closes. Binary frames, so the key never passes through a JavaScript string (which cannot
 * be wiped).
 */

/** Length of the key the agent holds (the keystore's derived key). */
export const AGENT_KEY_BYTES = 32;

/** The first byte of a request. */
export const OP = Object.freeze({
  /** Are you there? Reply: `[OK]`. */
  ping: 0x50,
  /** The key, if loaded. Reply: `[OK, ...key]` or `[NONE]`. */
  key: 0x4b,
  /** Hold this key for this many seconds: `[LOAD, ttl (uint32 BE), ...key]`. Reply: `[OK]`. */
  load: 0x4c,
  /** Wipe the key and exit. Reply: `[OK]`. */
  stop: 0x53,
});

/** The first byte of a reply. */
export const REPLY = Object.freeze({ none: 0x00, ok: 0x01 });

/** The length of a whole request starting with `op`, or `undefined` for an unknown op. */
export function requestLength(op: number): number | undefined {
  switch (op) {
    case OP.ping:
    case OP.key:
    case OP.stop:
      return 1;
    case OP.load:
      return 1 + 4 + AGENT_KEY_BYTES;
    default:
      return undefined;
  }
}

/** A `load` request; the caller wipes it once sent. */
export function loadRequest(key: Uint8Array, seconds: number): Buffer {
  const frame = Buffer.alloc(1 + 4 + AGENT_KEY_BYTES);
  frame[0] = OP.load;
  frame.writeUInt32BE(seconds, 1);
  frame.set(key, 5);
  return frame;
}
