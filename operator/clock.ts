/** The Operator's notion of time, injected so tests can move it. */

/** Milliseconds since the epoch. @defaultValue `Date.now` wherever one is optional */
export type Clock = () => number;
