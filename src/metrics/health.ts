// The relay's health as the probes see it: live while rounds (or bursts) keep finishing, ready while the last
// round reached the database and the broker. Fed by the flush observer events and the loop's backoff.
import type {FlushObserver, RoundFinished} from '../flush-observer.js'
import {SignalSendError, describeError} from '../errors.js'
import {unreachableService, type UnreachableService} from './reachability.js'

/** A round (or a burst) must finish within max(3 × interval, 30 s), plus any backoff the loop announced. */
const MIN_STALL_SECONDS = 30
const STALL_INTERVALS = 3

export interface Liveness {
  ok: boolean
  secondsSinceProgress: number
  limitSeconds: number
}

export interface Readiness {
  ok: boolean
  /** False until the first round has finished. */
  roundFinished: boolean
  database: boolean
  broker: boolean
  /** Why the last round could not reach a service. */
  reason?: string
}

export interface HealthOptions {
  /** The --repeat interval; a one-shot run has none. */
  intervalSeconds?: number
  /** Milliseconds, monotonic (tests inject a clock). */
  now?: () => number
}

export class HealthState implements FlushObserver {
  private readonly now: () => number
  private readonly stallSeconds: number
  private readonly intervalSeconds: number
  private lastProgress: number
  private backoffSeconds = 0
  private finishedRounds = 0
  private database = true
  private broker = true
  private reason: string | undefined

  constructor(options: HealthOptions = {}) {
    this.now = options.now ?? (() => performance.now())
    this.intervalSeconds = options.intervalSeconds ?? 0
    this.stallSeconds = Math.max(STALL_INTERVALS * this.intervalSeconds, MIN_STALL_SECONDS)
    this.lastProgress = this.now()
  }

  /** A committed burst is progress (a long backlog is not a stuck loop), and proof that both services answer. */
  burstCommitted(): void {
    this.lastProgress = this.now()
    this.database = true
    this.broker = true
  }

  roundFinished(event: RoundFinished): void {
    this.finishRound(event.failed.map((failure) => failure.error), event.sent > 0)
  }

  /** A round that threw before it could report per model (the CLI's loop catches it). */
  roundThrew(error: unknown): void {
    this.finishRound([error], false)
  }

  /** The loop waits `seconds` before the next round (its backoff after failures); liveness allows for it. */
  nextRoundIn(seconds: number): void {
    this.backoffSeconds = Math.max(0, seconds - this.intervalSeconds)
  }

  liveness(): Liveness {
    const secondsSinceProgress = (this.now() - this.lastProgress) / 1000
    const limitSeconds = this.stallSeconds + this.backoffSeconds
    return {ok: secondsSinceProgress <= limitSeconds, secondsSinceProgress, limitSeconds}
  }

  readiness(): Readiness {
    const roundFinished = this.finishedRounds > 0
    const ready: Readiness = {
      ok: roundFinished && this.database && this.broker,
      roundFinished,
      database: this.database,
      broker: this.broker,
    }
    if (this.reason !== undefined) ready.reason = this.reason
    return ready
  }

  private finishRound(errors: unknown[], sentSomething: boolean): void {
    this.lastProgress = this.now()
    this.finishedRounds++
    if (errors.length === 0) this.backoffSeconds = 0
    const lost = new Map<UnreachableService, unknown>()
    let sendFailedOnItsOwn = false
    for (const error of errors) {
      const service = unreachableService(error)
      if (service && !lost.has(service)) lost.set(service, error)
      if (!service && error instanceof SignalSendError) sendFailedOnItsOwn = true
    }
    this.database = !lost.has('database')
    // Idle rounds and rounds stopped by the database do not talk to the broker: they keep what the last send
    // found out. A send that failed for its own reasons (a poison signal, a nack) did get through.
    if (lost.has('broker')) this.broker = false
    else if (sentSomething || sendFailedOnItsOwn) this.broker = true
    const first = lost.values().next()
    this.reason = first.done ? undefined : describeError(first.value)
  }
}
