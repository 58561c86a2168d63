// Runs a job every `intervalSeconds` (the sleep subtracts the time the job took) until aborted.
import {sleep} from './sleep.js'

export interface RepeatOptions {
  intervalSeconds: number
  signal?: AbortSignal
}

export async function repeatEvery(options: RepeatOptions, job: () => Promise<void>): Promise<void> {
  const interval = options.intervalSeconds * 1000
  while (!options.signal?.aborted) {
    const started = performance.now()
    await job()
    await sleep(interval - (performance.now() - started), options.signal)
  }
}
