// Preloaded (node --import) into every measured child process: at exit it writes the process's own CPU
// time and peak RSS to $BENCH_USAGE_FILE, so the runner measures the flusher alone, not its children or the broker.
import {writeFileSync} from 'node:fs'

const file = process.env.BENCH_USAGE_FILE
if (file) {
  process.on('exit', () => {
    const usage = process.resourceUsage()
    writeFileSync(
      file,
      JSON.stringify({userSeconds: usage.userCPUTime / 1e6, systemSeconds: usage.systemCPUTime / 1e6, maxRssKB: usage.maxRSS}),
    )
  })
}
