// What the flushing commands (flushmany, flush) share: --burst, --repeat, graceful stop, rendering the report.
import {Flags} from '@oclif/core'
import {SignalbusConfigError, describeError} from '../errors.js'
import type {FlushReport} from '../flush-report.js'
import {repeatEvery} from '../repeat.js'
import type {SignalModel} from '../signal-model.js'
import type {FlushOptions, SignalBus} from '../signalbus.js'
import {SignalbusCommand, type CommonFlags} from './base-command.js'
import {ExitCode} from './exit-codes.js'
import {FlushProgress} from './progress.js'
import {renderFlushReport} from './render.js'
import {FlushService, serviceFlags, type ServiceFlags} from './service.js'
import {stopOnSignals} from './shutdown.js'

export interface FlushFlags extends CommonFlags, ServiceFlags {
  burst?: number
  repeat?: number
}

const seconds = Flags.custom<number>({
  helpValue: '<seconds>',
  async parse(input) {
    const value = Number(input)
    if (input.trim() === '' || !Number.isFinite(value) || value <= 0) {
      throw new SignalbusConfigError(`Expected a positive number of seconds but received: ${input}`)
    }
    return value
  },
})

export const flushFlags = {
  burst: Flags.integer({
    summary: "Signals sent and deleted per transaction, overriding each model's signalbusBurstCount.",
    min: 1,
    helpValue: '<n>',
  }),
  repeat: seconds({
    char: 'r',
    summary: 'Run again every <seconds> (the time spent is subtracted) until SIGTERM or SIGINT.',
  }),
  ...serviceFlags,
}

export type FlushOnce = (signalbus: SignalBus, models: SignalModel[], options: FlushOptions) => Promise<FlushReport>

export abstract class FlushCommand extends SignalbusCommand {
  /**
   * Flushes once (exit 1 when a model failed), or every --repeat seconds: then a failed round is
   * reported, the loop backs off and goes on, and SIGTERM/SIGINT end it with exit 0.
   */
  protected async runFlushing(flags: FlushFlags, names: readonly string[], flushOnce: FlushOnce): Promise<void> {
    const stop = stopOnSignals((signal) => this.out.debug(`${signal}: finishing the current burst, then exiting`))
    const service = new FlushService(flags, () => this.out)
    this.observer = service.observer
    try {
      const failed = await this.withSignalBus(flags, names, async (signalbus, models) => {
        await service.start(signalbus, models)
        const showProgress = FlushProgress.wanted(flags.json)
        const render = (report: FlushReport): boolean => {
          renderFlushReport(this.out, report, {json: flags.json, quietWhenIdle: flags.repeat !== undefined})
          return report.failed.length === 0
        }
        const round = async (): Promise<FlushReport> => {
          const options: FlushOptions = {burst: flags.burst, signal: stop.signal}
          if (!showProgress) return flushOnce(signalbus, models, options)
          const pending = Object.values(await signalbus.pending(models)).reduce((sum, count) => sum + count, 0)
          const progress = new FlushProgress(this.out, pending)
          try {
            return await flushOnce(signalbus, models, {...options, onBurst: (_model, sent) => progress.add(sent)})
          } finally {
            progress.finish()
          }
        }
        if (flags.repeat === undefined) return !render(await round())
        await repeatEvery(
          {
            intervalSeconds: flags.repeat,
            signal: stop.signal,
            onFailure: (_error, retryIn) => {
              service.nextRoundIn(retryIn)
              this.out.warn(`The last round failed; retrying in ${retryIn}s.`)
            },
            sleep: service.sleep,
          },
          async () => {
            try {
              return service.roundEnded(render(await round()))
            } catch (error) {
              service.roundThrew(error)
              this.out.error(describeError(error))
              return false
            }
          },
        )
        return false
      })
      if (failed) this.exit(ExitCode.runtimeFailure)
    } finally {
      await service.stop()
      stop.dispose()
    }
  }
}
