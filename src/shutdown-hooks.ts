// Cleanup that must run before the process ends (closing broker connections, flushing buffers). The CLI
// awaits every registered hook when a command finishes, so a user's open connection never hangs a cron job.
import {describeError} from './errors.js'
import type {Logger} from './logger.js'

export type ShutdownHook = () => Promise<void> | void

// One registry per process, shared by every copy of signalbus that is loaded (a CLI installed globally
// and the user's own dependency are two module instances).
const REGISTRY = Symbol.for('signalbus.shutdownHooks')
const registryHolder = globalThis as {[REGISTRY]?: Set<ShutdownHook>}
const hooks = (registryHolder[REGISTRY] ??= new Set<ShutdownHook>())

/** Registers a hook; returns a function that unregisters it. */
export function onShutdown(hook: ShutdownHook): () => void {
  hooks.add(hook)
  return () => {
    hooks.delete(hook)
  }
}

/** Runs every registered hook once, in registration order; a failing hook is logged and does not stop the others. */
export async function runShutdownHooks(logger?: Logger): Promise<void> {
  const pending = [...hooks]
  hooks.clear()
  for (const hook of pending) {
    try {
      await hook()
    } catch (error) {
      logger?.warn(`A shutdown hook failed: ${describeError(error)}`)
    }
  }
}
