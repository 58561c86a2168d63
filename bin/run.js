#!/usr/bin/env node
// Size V8's heap for a flusher before anything is loaded (see src/cli/heap.ts), then run the command.
import {sizeHeapForFlushing} from '../dist/cli/heap.js'

sizeHeapForFlushing()
const {execute} = await import('@oclif/core')
await execute({dir: import.meta.url})

// Everything signalbus opened is closed by now. If something a user's module opened (a broker
// connection, a timer) still holds the event loop, say so and exit instead of hanging a cron job.
const grace = setTimeout(() => {
  process.stderr.write('Warning: open handles kept the process alive after the command finished; exiting.\n')
  process.exit(process.exitCode ?? 0)
}, 2000)
grace.unref()
