// The signals of one model whose own send failed, as this process knows them: claims leave them out, and in
// --repeat mode each is tried again alone, on its own backoff (never the whole model's), until it is delivered.
import {backoff} from '../repeat.js'
import type {KeyValues} from './signal-table.js'

export interface SignalRetryPolicy {
  /** The first retry comes after about this long; each further failure doubles it. */
  intervalMs: number
  maxBackoffMs: number
}

interface FailingSignal {
  readonly key: KeyValues
  failures: number
  retryAt: number
}

export class FailingSignals {
  private readonly signals = new Map<string, FailingSignal>()

  /** Without a retry policy (one-shot runs) a failing signal is not tried again by this tracker's owner. */
  constructor(private readonly retry?: SignalRetryPolicy) {}

  get size(): number {
    return this.signals.size
  }

  has(key: KeyValues): boolean {
    return this.signals.has(mapKey(key))
  }

  /** Every known failing signal: the claims of normal bursts leave these out. */
  keys(): KeyValues[] {
    return [...this.signals.values()].map((signal) => signal.key)
  }

  /** The failing signals whose backoff has run out: to be tried again, each alone. */
  due(now = performance.now()): KeyValues[] {
    if (!this.retry) return []
    return [...this.signals.values()].filter((signal) => signal.retryAt <= now).map((signal) => signal.key)
  }

  /** Counts a failure of the signal and schedules its next try. */
  failed(key: KeyValues, now = performance.now()): void {
    const id = mapKey(key)
    const signal = this.signals.get(id) ?? {key, failures: 0, retryAt: now}
    signal.failures += 1
    signal.retryAt = this.retry ? now + backoff(this.retry.intervalMs, signal.failures, this.retry.maxBackoffMs) : Infinity
    this.signals.set(id, signal)
  }

  /** The signal was delivered, moved to the dead letters, or is not in its table any more. */
  forget(key: KeyValues): void {
    this.signals.delete(mapKey(key))
  }
}

/** Raw key values come back from the driver in the same types every time, so their JSON identifies the row. */
function mapKey(key: KeyValues): string {
  return JSON.stringify(key, (_name, value: unknown) => (typeof value === 'bigint' ? value.toString() : value))
}
