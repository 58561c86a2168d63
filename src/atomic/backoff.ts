// How long to wait before re-running a block: exponential backoff with full jitter, so that the
// transactions that just collided do not collide again in lock step.

export interface BackoffOptions {
  /** The cap of the first wait, in ms; each further retry doubles it. */
  baseMs: number
  /** The largest cap, in ms. */
  maxMs: number
}

/** A random wait in [0, min(maxMs, baseMs · 2^(failures − 1))). */
export function backoffDelay(failures: number, {baseMs, maxMs}: BackoffOptions, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1))
  return Math.floor(random() * cap)
}
