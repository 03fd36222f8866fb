/**
 * @module The unlock agent: `komrade unlock` starts a process that holds the derived keystore key
 * in memory on a private Unix socket, so later commands of the same home skip the passphrase.
 */

// Commands
export { DEFAULT_UNLOCK_SECONDS, addAgentCommands, unlockSeconds } from './agent-commands.js';

// Used by every command that opens the keystore
export { openWithAgent } from './open-with-agent.js';

// Where the agent listens
export { agentPaths, type AgentPaths } from './agent-paths.js';
