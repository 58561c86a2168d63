// Live progress of a long flush on a terminal: sent, rate and remaining, redrawn in place on stderr at
// most a few times a second. Never used when stderr is not a TTY or with --json.
import type {Output} from './output.js'

const REDRAW_EVERY_MS = 200

export class FlushProgress {
  private sent = 0
  private readonly started = performance.now()
  private lastDraw = 0
  private drawn = false

  constructor(
    private readonly out: Output,
    private readonly pendingAtStart: number,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  /** Only a terminal gets progress; pipes, files and JSON output never do. */
  static wanted(json: boolean, stream: NodeJS.WriteStream = process.stderr): boolean {
    return !json && stream.isTTY === true
  }

  add(count: number): void {
    this.sent += count
    const now = performance.now()
    if (now - this.lastDraw < REDRAW_EVERY_MS) return
    this.lastDraw = now
    this.draw(now)
  }

  /** Removes the progress line, so that the summary stands alone. */
  finish(): void {
    if (this.drawn) this.stream.write('\r\x1b[2K')
  }

  private draw(now: number): void {
    const seconds = Math.max(0.001, (now - this.started) / 1000)
    const rate = Math.round(this.sent / seconds)
    const remaining = Math.max(0, this.pendingAtStart - this.sent)
    const line = `${this.out.stderrColors.cyan('flushing')} ${this.sent} sent · ${rate}/s · ~${remaining} remaining`
    this.stream.write(`\r\x1b[2K${line}`)
    this.drawn = true
  }
}
