/** Entry point of the detached agent process that `komrade unlock` starts: `agent-main.js SOCKET`. */
import { serveAgent } from './agent-server.js';

const socket = process.argv[2];
if (socket === undefined) {
  process.exitCode = 2;
} else {
  // Named in `ps` with its socket, so a person can tell which home it serves.
  process.title = `komrade-agent ${socket}`;
  // Anything the agent creates (its socket) is private from the first instant.
  process.umask(0o077);
  serveAgent(socket, (code) => process.exit(code));
}
