// How many bursts of a model may be in flight and how many models may be flushed at once, within the data source's
// connection pool: a model with N bursts in flight holds N + 1 connections, and one connection is kept free for
// everything else, so M models at once need M × (N + 1) ≤ pool − 1. Asking for more is capped, with a warning.

export interface BudgetRequest {
  /** The pool's size (pg `max` / `poolSize`, mysql2 `connectionLimit`; 10 by default). */
  poolSize: number
  /** False for a single writer (SQLite): one burst and one model at a time. */
  overlapsBursts: boolean
  /** The bursts in flight each model asks for (its `signalbusInFlight`, or the caller's `inFlight`). */
  inFlight: readonly number[]
  /** Models flushed at once as the caller asked (undefined: as many as the pool allows). */
  concurrency?: number
}

export interface ConnectionBudget {
  /** The largest number of bursts in flight a model may have. */
  maxInFlight: number
  /** Models flushed at once. */
  concurrency: number
  /** One line per cap applied, for the logger. */
  warnings: string[]
}

/** Without an explicit concurrency, no more models at once than this, even with a large pool. */
export const DEFAULT_MAX_CONCURRENCY = 4

export function connectionBudget(request: BudgetRequest): ConnectionBudget {
  const warnings: string[] = []
  const asked = Math.max(1, ...request.inFlight)
  if (!request.overlapsBursts) {
    if (asked > 1) warnings.push(`SQLite has a single writer: bursts are sent one at a time (in-flight ${asked} ignored).`)
    if ((request.concurrency ?? 1) > 1) {
      warnings.push(`SQLite has a single writer: models are flushed one at a time (concurrency ${request.concurrency} ignored).`)
    }
    return {maxInFlight: 1, concurrency: 1, warnings}
  }
  const available = Math.max(2, request.poolSize - 1)
  const maxInFlight = Math.min(asked, available - 1)
  if (maxInFlight < asked) {
    warnings.push(
      `In-flight ${asked} needs ${asked + 1} connections per model, but the pool has ${request.poolSize} (one kept free): ` +
        `capped to ${maxInFlight}.`,
    )
  }
  const fits = Math.max(1, Math.floor(available / (maxInFlight + 1)))
  const concurrency = Math.min(request.concurrency ?? Math.min(fits, DEFAULT_MAX_CONCURRENCY), fits)
  if (request.concurrency !== undefined && concurrency < request.concurrency) {
    warnings.push(
      `Concurrency ${request.concurrency} with ${maxInFlight + 1} connections per model needs ` +
        `${request.concurrency * (maxInFlight + 1) + 1} connections, but the pool has ${request.poolSize}: capped to ${concurrency}.`,
    )
  }
  return {maxInFlight, concurrency, warnings}
}
