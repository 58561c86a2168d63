// What a flushing run did: the totals per model and the models that failed.

export interface FlushFailure {
  readonly model: string
  readonly error: string
}

export interface FlushReport {
  /** Signals sent and deleted, all models together. */
  sent: number
  /** Signals sent per model name (every model that was flushed appears, failed ones too). */
  models: Record<string, number>
  failed: FlushFailure[]
  seconds: number
}

export function emptyReport(): FlushReport {
  return {sent: 0, models: {}, failed: [], seconds: 0}
}
