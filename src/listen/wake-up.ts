// A sleep that a notification cuts short, debounced: the first notification ends the sleep `debounceMs`
// later, and every notification in between (or during the round that follows) is folded into that wake-up,
// so that a high insert rate makes a round every few milliseconds at most, never one per row.
import {sleep} from '../sleep.js'

export const DEFAULT_DEBOUNCE_MS = 15

export class WakeUp {
  /** When the first notification since the last wake-up arrived (performance.now()), if any. */
  private notifiedAt: number | undefined
  private wake: (() => void) | undefined

  constructor(private readonly debounceMs: number = DEFAULT_DEBOUNCE_MS) {}

  notify(): void {
    if (this.notifiedAt !== undefined) return
    this.notifiedAt = performance.now()
    const wake = this.wake
    if (wake) setTimeout(wake, this.debounceMs).unref()
  }

  /** Sleeps `milliseconds`, or until shortly after a notification (one that came during the round counts too). */
  async sleep(milliseconds: number, signal?: AbortSignal): Promise<void> {
    // Stopped during the round: an abort listener added now would never fire.
    if (signal?.aborted) return
    if (this.notifiedAt !== undefined) {
      await sleep(this.debounceMs - (performance.now() - this.notifiedAt), signal)
    } else {
      const controller = new AbortController()
      const cut = (): void => controller.abort()
      signal?.addEventListener('abort', cut, {once: true})
      this.wake = cut
      try {
        await sleep(milliseconds, controller.signal)
      } finally {
        this.wake = undefined
        signal?.removeEventListener('abort', cut)
      }
    }
    this.notifiedAt = undefined
  }
}
