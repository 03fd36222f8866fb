/** The Telegram adapter's terminal output: startup failures only (everything else is JSON logs). */

/** Prints a fatal startup message to stderr. */
export function printFatal(message: string): void {
  console.error(`komrade-telegram: ${message}`);
}

/** Tells whoever started the process (a supervisor, the test harness) that the bot is polling. */
export function printReady(): void {
  console.log('komrade-telegram running');
}
