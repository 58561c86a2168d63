// Gates order two concurrent transactions step by step, so that a conflict happens the same way every run.
// Every wait is bounded: a gate that never opens fails the test instead of hanging it.

const GATE_TIMEOUT_MS = 10_000

export class Gate {
  private release!: () => void
  private readonly opened = new Promise<void>((resolve) => (this.release = resolve))

  constructor(readonly name: string) {}

  open(): void {
    this.release()
  }

  async wait(timeoutMs = GATE_TIMEOUT_MS): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`gate "${this.name}" did not open within ${timeoutMs} ms`)), timeoutMs)
    })
    try {
      await Promise.race([this.opened, timeout])
    } finally {
      clearTimeout(timer)
    }
  }
}
