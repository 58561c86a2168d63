// SIGTERM/SIGINT: the first asks the run to stop after the current burst; a second exits at once
// (the server rolls back the open transaction when the connection drops).
const SIGNALS = ['SIGTERM', 'SIGINT'] as const
const EXIT_ON_SECOND_SIGNAL = 130

export function stopOnSignals(onFirst: (signal: string) => void): {signal: AbortSignal; dispose: () => void} {
  const controller = new AbortController()
  const handler = (signal: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT_ON_SECOND_SIGNAL)
    onFirst(signal)
    controller.abort()
  }
  for (const name of SIGNALS) process.on(name, handler)
  return {
    signal: controller.signal,
    dispose: () => {
      for (const name of SIGNALS) process.off(name, handler)
    },
  }
}
