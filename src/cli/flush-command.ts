// What the flushing commands (flushmany, flush) share: --burst, --in-flight, --concurrency, --max-attempts, --repeat,
// graceful stop, rendering.
import {Flags} from '@oclif/core'
import {SignalbusConfigError} from '../errors.js'
import type {FlushReport} from '../flush-report.js'
import type {SignalModel} from '../signal-model.js'
import type {FlushOptions, SignalBus} from '../signalbus.js'
import {SignalbusCommand, type CommonFlags} from './base-command.js'
import {ExitCode} from './exit-codes.js'
import {FlushProgress} from './progress.js'
import {renderFlushReport, runSucceeded} from './render.js'
import {FlushService, serviceFlags, type ServiceFlags} from './service.js'
import {stopOnSignals} from './shutdown.js'

export interface FlushFlags extends CommonFlags, ServiceFlags {
  burst?: number
  'in-flight'?: number
  concurrency?: number
  'max-attempts'?: number
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
  'in-flight': Flags.integer({
    summary: "Bursts of a model being sent at once, each its own transaction, overriding each model's signalbusInFlight (default 1).",
    description:
      'Above 1 the send methods are called concurrently: use it only when they are safe for that. A crash re-sends at most ' +
      'this many bursts. Each model then holds n + 1 connections (capped to the pool, with a warning); 1 on SQLite.',
    min: 1,
    helpValue: '<n>',
  }),
  concurrency: Flags.integer({
    summary: 'Models flushed at once (default: as many as the connection pool allows, at most 4; 1 on SQLite).',
    description: 'Capped, with a warning, so that concurrency × (in-flight + 1) ≤ pool size − 1.',
    min: 1,
    helpValue: '<m>',
  }),
  'max-attempts': Flags.integer({
    summary: "Move a signal to the dead letters after its n-th failed send, overriding each model's signalbusMaxAttempts.",
    description: 'Needs the tables of `signalbus setup`; without them failing signals stay pending.',
    min: 1,
    helpValue: '<n>',
  }),
  repeat: seconds({
    char: 'r',
    summary: 'Run again every <seconds> (the time spent is subtracted), each model on its own schedule, until SIGTERM or SIGINT.',
  }),
  ...serviceFlags,
}

/** Which rows a round sends: all pending (flushmany), or those pending when it began, after `wait` seconds (flush). */
export interface FlushMode {
  mode: 'flushmany' | 'flush'
  wait?: number
}

export abstract class FlushCommand extends SignalbusCommand {
  /**
   * Flushes once (exit 1 when a model failed or some signals failed and stay pending), or every --repeat seconds,
   * each model on its own schedule: a round in which a model stopped is reported and that model backs off; the
   * others go on. SIGTERM/SIGINT end the loop with exit 0.
   */
  protected async runFlushing(flags: FlushFlags, names: readonly string[], how: FlushMode): Promise<void> {
    const stop = stopOnSignals((signal) => this.out.debug(`${signal}: finishing the current burst, then exiting`))
    const service = new FlushService(flags, () => this.out)
    this.observer = service.observer
    try {
      const failed = await this.withSignalBus(flags, names, async (signalbus, models) => {
        await service.start(signalbus, models)
        const options: FlushOptions = {
          burst: flags.burst,
          inFlight: flags['in-flight'],
          concurrency: flags.concurrency,
          maxAttempts: flags['max-attempts'],
          signal: stop.signal,
        }
        if (flags.repeat === undefined) return !runSucceeded(this.renderOnce(flags, await this.flushOnce(signalbus, models, options, how, flags.json)))
        await signalbus.run({
          ...options,
          ...how,
          models,
          intervalSeconds: flags.repeat,
          onRound: (report, model) => {
            service.roundEnded(model, report)
            renderFlushReport(this.out, report, {json: flags.json, quietWhenIdle: true})
          },
          onRoundFailed: (model, retryIn) => {
            service.nextRoundIn(retryIn)
            this.out.warn(`The last round of "${model.name}" failed; retrying in ${retryIn}s.`)
          },
          sleep: service.sleep,
        })
        return false
      })
      if (failed) this.exit(ExitCode.runtimeFailure)
    } finally {
      await service.stop()
      stop.dispose()
    }
  }

  private renderOnce(flags: FlushFlags, report: FlushReport): FlushReport {
    renderFlushReport(this.out, report, {json: flags.json, quietWhenIdle: false})
    return report
  }

  /** One run over all models; with live progress on a terminal. */
  private async flushOnce(
    signalbus: SignalBus,
    models: SignalModel[],
    options: FlushOptions,
    how: FlushMode,
    json: boolean,
  ): Promise<FlushReport> {
    const flush = (withOptions: FlushOptions): Promise<FlushReport> =>
      how.mode === 'flush' ? signalbus.flushReport(models, {...withOptions, wait: how.wait}) : signalbus.flushmanyReport(models, withOptions)
    if (!FlushProgress.wanted(json)) return flush(options)
    const pending = Object.values(await signalbus.pending(models)).reduce((sum, count) => sum + count, 0)
    const progress = new FlushProgress(this.out, pending)
    try {
      return await flush({...options, onBurst: (_model, sent) => progress.add(sent)})
    } finally {
      progress.finish()
    }
  }
}
