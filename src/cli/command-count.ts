let started = 0;

/** Counts a command starting in this process (startCommand in exit.ts). */
export function countCommand(): void {
  started++;
}

/** How many commands this process has started: what one command set up is its own while this holds. */
export function commandsStarted(): number {
  return started;
}
