// The optional in-app flush loop: flushmany rounds every `intervalSeconds` from onApplicationBootstrap; stopped in
// beforeApplicationShutdown, so the burst in progress commits before @nestjs/typeorm destroys the DataSource
// (its onApplicationShutdown), and nothing is left open.
import type {BeforeApplicationShutdown, OnApplicationBootstrap} from '@nestjs/common'
import {SignalbusConfigError, describeError} from '../errors.js'
import type {Logger} from '../logger.js'
import {getModelsToFlush} from '../model-names.js'
import {repeatEvery} from '../repeat.js'
import type {SignalModel} from '../signal-model.js'
import type {ModelRef, SignalBus} from '../signalbus.js'
import type {FlushLoopOptions} from './options.js'

interface RunningLoop {
  controller: AbortController
  done: Promise<void>
}

export class SignalbusFlushLoop implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private loop: RunningLoop | undefined
  private readonly models: SignalModel[] | undefined

  constructor(
    private readonly bus: SignalBus,
    private readonly options: FlushLoopOptions | undefined,
    private readonly logger: Logger,
  ) {
    if (options !== undefined && !(Number.isFinite(options.intervalSeconds) && options.intervalSeconds > 0)) {
      throw new SignalbusConfigError(`flushLoop.intervalSeconds must be a positive number of seconds, not ${String(options.intervalSeconds)}.`)
    }
    // Resolved when the module is created, so a misspelt model fails the application's start, not every round.
    this.models = options?.models === undefined ? undefined : resolveModels(bus, options.models)
  }

  /** Whether a loop is running (it is only when the module was given `flushLoop`). */
  get running(): boolean {
    return this.loop !== undefined
  }

  onApplicationBootstrap(): void {
    if (this.options !== undefined) this.start(this.options)
  }

  async beforeApplicationShutdown(): Promise<void> {
    await this.stop()
  }

  /** Stops between bursts: the burst being sent is committed (or rolled back) first. */
  async stop(): Promise<void> {
    const loop = this.loop
    if (loop === undefined) return
    loop.controller.abort()
    await loop.done
    if (this.loop !== loop) return // stopped by a concurrent call
    this.loop = undefined
    this.logger.info('The flush loop has stopped.')
  }

  private start(options: FlushLoopOptions): void {
    if (this.loop !== undefined) return
    const {models} = this
    const controller = new AbortController()
    const done = repeatEvery(
      {
        intervalSeconds: options.intervalSeconds,
        signal: controller.signal,
        maxBackoffSeconds: options.maxBackoffSeconds,
        onFailure: (error, retryInSeconds) =>
          this.logger.warn(`A flush round failed (${describeError(error)}); the next round starts in ${retryInSeconds} s.`),
      },
      async () => {
        const report = await this.bus.flushmanyReport(models, {burst: options.burst, signal: controller.signal})
        // Each failure was logged by SignalBus; this names the models in the backoff warning.
        if (report.failed.length > 0) throw new Error(`flushing failed for ${report.failed.map((failure) => failure.model).join(', ')}`)
      },
    ).catch((error: unknown) => this.logger.error(`The flush loop stopped: ${describeError(error)}`))
    this.loop = {controller, done}
    const which = models === undefined ? 'every signal model' : models.map((model) => model.name).join(', ')
    this.logger.info(`Flushing ${which} every ${options.intervalSeconds} s.`)
  }
}

function resolveModels(bus: SignalBus, refs: readonly ModelRef[]): SignalModel[] {
  const all = bus.getSignalModels()
  return refs.map((ref) => {
    if (typeof ref === 'string') return getModelsToFlush(bus, [ref], {onUnknown: 'error'})[0]!
    const found = all.find((model) => model === ref || model.target === ref)
    if (found === undefined) {
      throw new SignalbusConfigError(`flushLoop.models: ${ref.name} is not a signal model of the DataSource.`)
    }
    return found
  })
}
