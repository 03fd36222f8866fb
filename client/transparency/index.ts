/**
 * @module Transparency (client side): auditing the Operator's registry log. A
 * {@link RegistryAuditor} checks each receipt's inclusion proof, remembers the newest checkpoint
 * it verified (in the local store), accepts another only with a consistency proof, and keeps
 * {@link LogEvidence} (then stops the client: `LOG_INCONSISTENT`) when the Operator's signatures
 * disagree. `KomradeClient` uses one for every receipt, `auditLog()` and the checkpoints letters
 * gossip; monitors can build one over any {@link LogAuditStore}.
 */
export {
  RegistryAuditor,
  checkReceiptProof,
  openRegistryCheckpoint,
  registryTrust,
  type LogAuditStore,
  type ReceiptProofFailure,
  type RegistryAuditorDeps,
} from './registry-auditor.js';
export {
  LOG_EVIDENCE_KINDS,
  logEvidenceSchema,
  logInconsistentError,
  parseLogEvidence,
  type CheckpointSource,
  type LogEvidence,
  type LogEvidenceKind,
} from './log-evidence.js';
export { stoppableOperator } from './stoppable-operator.js';
export {
  RegistryMonitor,
  type LogReader,
  type MonitorEvidence,
  type MonitorProblem,
  type MonitorProblemKind,
  type MonitorProgress,
  type MonitorReport,
  type RegistryMonitorOptions,
  type WatchedIdentity,
} from './registry-monitor.js';
export { Witness, type WitnessMemory, type WitnessOptions } from './witness.js';
