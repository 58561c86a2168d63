// --repeat with every model on a schedule of its own: each model's rounds come every interval (minus the time
// the round took) and back off on their own after a failed round, so a failing or slow model never delays
// another model's rounds. At most `concurrency` rounds run at once (the connections they need); beyond that,
// models take their turns in the order they asked.
import {repeatEvery} from './repeat.js'

export interface ScheduleOptions<M> {
  intervalSeconds: number
  signal?: AbortSignal
  /** The longest wait after failed rounds of one model (default 60 s, never less than the interval). */
  maxBackoffSeconds?: number
  /** Rounds running at the same time, all models together. */
  concurrency: number
  /** How a model's loop waits between its rounds (default: a plain sleep); --listen's ends early on an insert. */
  sleep?: (model: M, milliseconds: number, signal?: AbortSignal) => Promise<void>
}

/** One round of one model; it succeeds unless it resolves to false or throws. */
export type ModelRound<M> = (model: M) => Promise<boolean>

export async function repeatPerModel<M>(
  models: readonly M[],
  options: ScheduleOptions<M>,
  round: ModelRound<M>,
  onFailure?: (model: M, error: unknown, retryInSeconds: number) => void,
): Promise<void> {
  const turns = new Turns(options.concurrency)
  await Promise.all(
    models.map((model) =>
      repeatEvery(
        {
          intervalSeconds: options.intervalSeconds,
          signal: options.signal,
          maxBackoffSeconds: options.maxBackoffSeconds,
          onFailure: (error, retryIn) => onFailure?.(model, error, retryIn),
          sleep: options.sleep && ((milliseconds, signal) => options.sleep!(model, milliseconds, signal)),
        },
        () => turns.take(() => round(model)),
      ),
    ),
  )
}

/** A counting semaphore: `take` runs the job when one of `size` places is free. */
export class Turns {
  private free: number
  private readonly waiting: Array<() => void> = []

  constructor(size: number) {
    this.free = Math.max(1, size)
  }

  async take<T>(job: () => Promise<T>): Promise<T> {
    if (this.free > 0) this.free -= 1
    else await new Promise<void>((resolve) => this.waiting.push(resolve))
    try {
      return await job()
    } finally {
      const next = this.waiting.shift()
      if (next) next()
      else this.free += 1
    }
  }
}
