// What the flushing commands add when run as a service: --metrics-port (Prometheus /metrics, /healthz,
// /readyz), --listen (PostgreSQL NOTIFY wake-up). Built from the flags, fed by the flush observer events,
// started once the data source is up and stopped after the last burst.
import {Flags} from '@oclif/core'
import {describeTable} from '../engine/signal-table.js'
import {dialectFor} from '../engine/dialects/index.js'
import {SignalbusConfigError, describeError} from '../errors.js'
import {observeAll, type FlushObserver} from '../flush-observer.js'
import {HealthState} from '../metrics/health.js'
import type {SignalbusMetrics} from '../metrics/metrics.js'
import type {MetricsServer} from '../metrics/server.js'
import {PostgresListener} from '../listen/postgres-listener.js'
import {hasWakeUpTrigger} from '../listen/triggers.js'
import {WakeUp} from '../listen/wake-up.js'
import type {FlushReport} from '../flush-report.js'
import type {SignalModel} from '../signal-model.js'
import type {SignalBus} from '../signalbus.js'
import {sleep} from '../sleep.js'
import type {Output} from './output.js'

export const serviceFlags = {
  'metrics-port': Flags.integer({
    summary: 'Serve Prometheus /metrics, /healthz and /readyz on this port while flushing.',
    env: 'SIGNALBUS_METRICS_PORT',
    min: 1,
    max: 65535,
    helpValue: '<port>',
  }),
  'metrics-host': Flags.string({
    summary: 'Address the metrics server binds (0.0.0.0 for every interface, e.g. in a container).',
    env: 'SIGNALBUS_METRICS_HOST',
    default: '127.0.0.1',
    helpValue: '<address>',
  }),
  listen: Flags.boolean({
    summary: 'PostgreSQL: also wake the --repeat loop right after an insert (LISTEN/NOTIFY; triggers from `signalbus setup`).',
    default: false,
  }),
}

export interface ServiceFlags {
  'metrics-port'?: number
  'metrics-host'?: string
  listen: boolean
  repeat?: number
}

export class FlushService {
  private metrics: SignalbusMetrics | undefined
  private readonly health: HealthState | undefined
  /** One per model with --listen: each model's loop sleeps (and is woken) on its own. */
  private readonly wakeUps = new Map<string, WakeUp>()
  private server: MetricsServer | undefined
  private listener: PostgresListener | undefined
  /** Models whose last round failed: their backoff holds, inserts do not wake them. */
  private readonly failing = new Set<string>()
  private forward: FlushObserver = {}
  /** Fed to SignalBus: metrics and health see every burst and round (from start() on). */
  readonly observer: FlushObserver = {
    burstCommitted: (event) => this.forward.burstCommitted?.(event),
    sendFailed: (event) => this.forward.sendFailed?.(event),
    deadLettered: (event) => this.forward.deadLettered?.(event),
    roundFinished: (event) => this.forward.roundFinished?.(event),
  }

  constructor(
    private readonly flags: ServiceFlags,
    /** The command's current output (it is replaced once the flags are parsed). */
    private readonly output: () => Output,
  ) {
    if (flags.listen && flags.repeat === undefined) {
      throw new SignalbusConfigError('--listen wakes the --repeat loop: give --repeat SECONDS too.')
    }
    if (flags['metrics-port'] !== undefined) this.health = new HealthState({intervalSeconds: flags.repeat})
  }

  /** Binds the metrics port (exit 2 when taken) and starts listening; call before the first round. */
  async start(signalbus: SignalBus, models: SignalModel[]): Promise<void> {
    if (this.flags.listen) this.requirePostgres(signalbus)
    if (this.health) {
      // prom-client is loaded only when metrics are asked for: it costs every other run its start-up time.
      const [{SignalbusMetrics}, {startMetricsServer}] = await Promise.all([
        import('../metrics/metrics.js'),
        import('../metrics/server.js'),
      ])
      this.metrics = new SignalbusMetrics()
      this.forward = observeAll(this.metrics, this.health)
      this.metrics.declareModels(models.map((model) => model.name))
      this.metrics.watchBacklog(() => signalbus.status(models), {
        onError: (error) => this.out.debug(`Reading the backlog for /metrics failed: ${describeError(error)}`),
      })
      this.server = await startMetricsServer({
        port: this.flags['metrics-port']!,
        host: this.flags['metrics-host'],
        metrics: this.metrics,
        health: this.health,
      })
      this.out.info(`Serving /metrics, /healthz and /readyz on http://${this.server.host}:${this.server.port}`)
    }
    if (this.flags.listen) await this.startListening(signalbus, models)
  }

  /** A model's sleep between its rounds: woken by inserts with --listen, except while its rounds fail (the backoff holds). */
  readonly sleep = (model: SignalModel, milliseconds: number, signal?: AbortSignal): Promise<void> => {
    const wakeUp = this.wakeUps.get(model.name)
    return wakeUp && !this.failing.has(model.name) ? wakeUp.sleep(milliseconds, signal) : sleep(milliseconds, signal)
  }

  roundEnded(model: SignalModel, report: FlushReport): void {
    if (report.failed.length > 0) this.failing.add(model.name)
    else this.failing.delete(model.name)
  }

  nextRoundIn(seconds: number): void {
    this.health?.nextRoundIn(seconds)
  }

  /** After the last burst: stop serving and listening. */
  async stop(): Promise<void> {
    await this.listener?.close()
    await this.server?.close()
  }

  private get out(): Output {
    return this.output()
  }

  private requirePostgres(signalbus: SignalBus): void {
    const type = signalbus.dataSource.options.type
    if (type === 'postgres') return
    throw new SignalbusConfigError(
      `--listen needs PostgreSQL (LISTEN/NOTIFY); this data source is "${type}". ` +
        'Use a short --repeat instead: an idle round costs one query per model.',
    )
  }

  private async startListening(signalbus: SignalBus, models: SignalModel[]): Promise<void> {
    const {dataSource} = signalbus
    const dialect = dialectFor(dataSource)
    const tables = models.map((model) => describeTable(dataSource, model.metadata, dialect.tableQualifier(model.metadata)))
    const runner = dataSource.createQueryRunner()
    const withTrigger: Array<{table: string; wakeUp: WakeUp}> = []
    const without: string[] = []
    try {
      for (const [index, table] of tables.entries()) {
        if (!(await hasWakeUpTrigger(runner, table))) {
          without.push(table.displayName)
          continue
        }
        const wakeUp = new WakeUp()
        this.wakeUps.set(models[index]!.name, wakeUp)
        withTrigger.push({table: table.displayName, wakeUp})
      }
    } finally {
      await runner.release()
    }
    if (without.length > 0) {
      this.out.warn(
        `--listen: ${without.map((name) => `"${name}"`).join(', ')} ${without.length === 1 ? 'has' : 'have'} no signalbus ` +
          `NOTIFY trigger and ${without.length === 1 ? 'is' : 'are'} polled every ${this.flags.repeat}s; ` +
          '`signalbus setup --apply` installs the triggers.',
      )
    }
    if (withTrigger.length === 0) return
    this.listener = new PostgresListener(dataSource, {tables: withTrigger, logger: this.out.logger()})
    await this.listener.start()
  }
}
