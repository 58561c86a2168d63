// What a flushing run did: the totals per model, the models that failed, and the signals whose own send failed.

export interface FlushFailure {
  readonly model: string
  readonly error: string
}

/** A failing signal, for messages: its key (`id=250`) and its send's error. */
export interface FailingSignal {
  readonly key: string
  readonly error: string
}

/** The signals of one model whose own send failed in the run (the rest of the model was delivered). */
export interface SignalFailures {
  /** Failed and still pending (tried again by the next run; by --repeat on their own backoff). */
  pending: number
  /** Failed for the maxAttempts-th time and moved to the dead letters. */
  deadLettered: number
  firstPending: FailingSignal | null
  firstDeadLettered: FailingSignal | null
}

export interface FlushReport {
  /** Signals sent and deleted, all models together. */
  sent: number
  /** Signals sent per model name (every model that was flushed appears, failed ones too). */
  models: Record<string, number>
  /**
   * Models that failed: the model stopped (broker, database, sends failing whatever the split), or some of its
   * signals failed and stay pending. Signals moved to the dead letters alone do not make a model fail.
   */
  failed: FlushFailure[]
  /** Per model name, only for models some of whose signals failed on their own. */
  failedSignals: Record<string, SignalFailures>
  /** Signals moved to the dead letters, all models together. */
  deadLettered: number
  seconds: number
}

export function emptyReport(): FlushReport {
  return {sent: 0, models: {}, failed: [], failedSignals: {}, deadLettered: 0, seconds: 0}
}

/** The line for a model whose failing signals stay pending (the CLI prints it as an error). */
export function pendingSignalsMessage(model: string, failures: SignalFailures): string {
  const first = failures.firstPending
  return `${failures.pending} signal(s) of "${model}" failed and stay pending${first ? ` (first: ${first.key}: ${first.error})` : ''}`
}

/** The line for a model some of whose signals were moved to the dead letters (the CLI prints it as a warning). */
export function deadLetteredMessage(model: string, failures: SignalFailures): string {
  const first = failures.firstDeadLettered
  return (
    `${failures.deadLettered} signal(s) of "${model}" failed too often and were moved to the dead letters` +
    `${first ? ` (first: ${first.key}: ${first.error})` : ''}`
  )
}
