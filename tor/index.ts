/**
 * @module Tor: launching or attaching to tor, its control protocol, onion services, and an undici
 * transport that reaches `.onion` addresses through Tor's SOCKS port with per-identity circuits.
 */

// Processes: launch a private tor, or use one that is already running.
export {
  attachTor,
  launchTor,
  type AttachTorOptions,
  type AttachedTor,
  type LaunchTorOptions,
  type TorExit,
  type TorProcess,
} from './launch-tor.js';

// Control protocol.
export {
  TorControl,
  type ControlEvent,
  type ControlTarget,
  type TorControlOptions,
} from './tor-control.js';
export {
  ControlReplyParser,
  parseGetInfo,
  parseKeywords,
  type ControlReply,
  type ControlReplyLine,
} from './control-reply.js';
export { parseBootstrapPhase, type BootstrapProgress } from './bootstrap-phase.js';
export {
  BootstrapStallWatch,
  describeBootstrapStall,
  describeBootstrapWarning,
  type BootstrapStall,
  type BootstrapStallWatchOptions,
} from './bootstrap-stall.js';
export {
  parseCircuitLine,
  parseCircuitStatus,
  parseStreamLine,
  parseStreamStatus,
  type CircuitStatus,
  type StreamStatus,
} from './status-lists.js';

// Onion services.
export {
  buildAddOnionCommand,
  torVersionAtLeast,
  type AddOnionOptions,
  type AddOnionResult,
  type OnionPortMapping,
} from './onion-service.js';

// Client transport and the destination rule.
export { createTorDispatcher, type TorDispatcherOptions } from './tor-dispatcher.js';
export { describeSocksReply, socks5Connect, type Socks5ConnectOptions } from './socks5-connect.js';
export {
  assertOnionOrLoopback,
  isLoopbackHostname,
  isOnionHostname,
  type AllowedDestination,
} from './destination-guard.js';

// Errors and retries.
export {
  TorError,
  isTransientSocksReply,
  isTransientTorError,
  type TorErrorOptions,
} from './tor-error.js';
export { retryWithBackoff, type RetryOptions } from './retry-with-backoff.js';
export { renderTorrc, torrcQuote } from './torrc.js';
