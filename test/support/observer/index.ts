/**
 * @module The observer: records everything an Operator sees (requests with their Tor circuit, its
 * disk, its logs) during a scenario, and a linker that tries to say who wrote to whom.
 */

// Recording
export { parseProxyLine, takeProxyLine, type ProxyHeader } from './proxy-protocol.js';
export { startRecordingProxy, type RecordingProxy } from './recording-proxy.js';
export { publishObservedOnion, type ObservedOnion } from './observed-onion.js';
export { readDataFiles, snapshotDisk } from './disk-capture.js';
export type { DiskSnapshot, Observation, ObservedRequest } from './observation.js';

// The scenario and what really happened
export {
  runScenario,
  setUpKomrades,
  type ActionKind,
  type RunKomrade,
  type ScenarioAction,
  type ScenarioOptions,
} from './scenario.js';
export { deliveredLetters, type DeliveredLetter } from './delivered-letters.js';
export {
  keysOfKomrades,
  openDelivered,
  secretsOfKomrades,
  StoreSnapshots,
  trueFollows,
  type KomradeSecrets,
  type TrueLetter,
} from './ground-truth.js';

// The attacker and its score
export {
  HEURISTICS,
  link,
  type FollowGuess,
  type Heuristic,
  type LetterGuess,
  type LinkerOptions,
  type LinkerResult,
} from './linker.js';
export { requestIdentities, circuitOwners, type RequestIdentity } from './request-identities.js';
export {
  binomialThreshold,
  hypergeometricPmf,
  hypergeometricThreshold,
  sumThreshold,
} from './chance.js';
export {
  CHANCE_ALPHA,
  describeScore,
  reportObservation,
  scoreLinker,
  type Score,
  type Tally,
} from './score.js';
export { lettersBesideNames, logLinesNaming, type Exposure } from './exposures.js';
export { readObserverDump, writeObserverDump, type ObserverDump } from './dump.js';
export { syntheticObservation, type SyntheticOptions } from './synthetic.js';
