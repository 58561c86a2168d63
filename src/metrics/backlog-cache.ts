// The backlog (pending count, oldest age per model) read from the database on scrape, at most every
// `maxAgeMs`: however often Prometheus scrapes, the database sees one COUNT per model per period.
import type {SignalModelStatus} from '../signalbus.js'

export interface BacklogReader {
  read(): Promise<SignalModelStatus[]>
  onError?: (error: unknown) => void
}

export class BacklogCache {
  private value: SignalModelStatus[] | undefined
  private readAt = -Infinity
  private reading: Promise<void> | undefined

  constructor(
    private readonly reader: BacklogReader,
    private readonly maxAgeMs: number,
    private readonly waitMs: number,
  ) {}

  /** The latest reading; a failed one clears it (an unknown backlog is no sample, not a stale number). */
  async read(): Promise<SignalModelStatus[] | undefined> {
    if (!this.reading && performance.now() - this.readAt >= this.maxAgeMs) {
      this.reading = this.reader.read().then(
        (value) => {
          this.value = value
        },
        (error: unknown) => {
          this.value = undefined
          this.reader.onError?.(error)
        },
      )
      void this.reading.finally(() => {
        this.readAt = performance.now()
        this.reading = undefined
      })
    }
    if (this.reading) await waitAtMost(this.reading, this.waitMs)
    return this.value
  }
}

async function waitAtMost(promise: Promise<void>, milliseconds: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, milliseconds)
    timer.unref()
  })
  try {
    await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}
