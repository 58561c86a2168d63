#!/usr/bin/env node
import {execute} from '@oclif/core'

await execute({dir: import.meta.url})

// Everything signalbus opened is closed by now. If something a user's module opened (a broker
// connection, a timer) still holds the event loop, say so and exit instead of hanging a cron job.
const grace = setTimeout(() => {
  process.stderr.write('Warning: open handles kept the process alive after the command finished; exiting.\n')
  process.exit(process.exitCode ?? 0)
}, 2000)
grace.unref()
