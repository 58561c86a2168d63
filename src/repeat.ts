// Runs a job every `intervalSeconds` (the sleep subtracts the time the job took) until aborted. After a
// failed round the wait grows exponentially (with jitter) up to `maxBackoffSeconds`, and resets after a
// round that succeeds: a lost database or broker is retried without being hammered.
import {sleep} from './sleep.js'

export interface RepeatOptions {
  intervalSeconds: number
  signal?: AbortSignal
  /** The longest wait after failed rounds (default 60 s, never less than the interval). */
  maxBackoffSeconds?: number
  /** Told about each failed round and how long the loop waits before the next one. */
  onFailure?: (error: unknown, retryInSeconds: number) => void
  /** How the loop waits between rounds (default: a plain sleep); --listen's ends early on an insert. */
  sleep?: (milliseconds: number, signal?: AbortSignal) => Promise<void>
}

/** A round succeeds when the job resolves to anything but `false` and does not throw. */
export type RepeatedJob = () => Promise<boolean | void>

export async function repeatEvery(options: RepeatOptions, job: RepeatedJob): Promise<void> {
  const interval = options.intervalSeconds * 1000
  const maxBackoff = Math.max(interval, (options.maxBackoffSeconds ?? 60) * 1000)
  let failures = 0
  while (!options.signal?.aborted) {
    const started = performance.now()
    let failure: unknown
    try {
      if ((await job()) === false) failure = new Error('the round failed')
    } catch (error) {
      failure = error
    }
    failures = failure === undefined ? 0 : failures + 1
    let wait = interval - (performance.now() - started)
    if (failures > 0) {
      wait = backoff(interval, failures, maxBackoff)
      options.onFailure?.(failure, Math.round(wait / 100) / 10)
    }
    await (options.sleep ?? sleep)(wait, options.signal)
  }
}

/** interval × 2^(failures-1), at least 1 s, at most maxBackoff, with ±20 % jitter so parallel flushers spread out. */
export function backoff(interval: number, failures: number, maxBackoff: number): number {
  const base = Math.min(maxBackoff, Math.max(1000, interval) * 2 ** Math.min(failures - 1, 30))
  return Math.round(base * (0.8 + Math.random() * 0.4))
}
