// What the flush engine and SignalBus tell an observer while they work (metrics, health probes). Every
// callback is optional and must be cheap and synchronous: it runs on the flush's own path, once per burst.

export interface BurstCommitted {
  /** The model's entity class name. */
  readonly model: string
  /** Signals sent and deleted by the burst. */
  readonly count: number
  /** From the start of the claim to the end of the commit. */
  readonly seconds: number
}

export interface SendFailed {
  readonly model: string
  /** Signals in the burst whose send failed (they stay pending). */
  readonly count: number
  readonly error: unknown
}

export interface DeadLettered {
  readonly model: string
  /** Signals moved to the dead-letter table. */
  readonly count: number
}

export interface RoundFinished {
  /** Signals sent by the round, all models together. */
  readonly sent: number
  /** The models that failed, with the error each one failed with. */
  readonly failed: ReadonlyArray<{readonly model: string; readonly error: unknown}>
  readonly seconds: number
}

export interface FlushObserver {
  burstCommitted?(event: BurstCommitted): void
  sendFailed?(event: SendFailed): void
  deadLettered?(event: DeadLettered): void
  /** After each flushmany/flush call (one round of a --repeat loop). */
  roundFinished?(event: RoundFinished): void
}

export const silentObserver: FlushObserver = {}

/** One observer that forwards to several (the CLI feeds metrics and health from the same events). */
export function observeAll(...observers: FlushObserver[]): FlushObserver {
  return {
    burstCommitted: (event) => observers.forEach((observer) => observer.burstCommitted?.(event)),
    sendFailed: (event) => observers.forEach((observer) => observer.sendFailed?.(event)),
    deadLettered: (event) => observers.forEach((observer) => observer.deadLettered?.(event)),
    roundFinished: (event) => observers.forEach((observer) => observer.roundFinished?.(event)),
  }
}
