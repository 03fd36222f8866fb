/** The Discord adapter's terminal output: startup failures only (everything else is JSON logs). */

/** Prints a fatal startup message to stderr. */
export function printFatal(message: string): void {
  process.stderr.write(`komrade-discord: ${message}\n`);
}

/** Tells whoever started the process (a supervisor, the test harness) that the bot is connected. */
export function printReady(): void {
  process.stdout.write('komrade-discord running\n');
}
