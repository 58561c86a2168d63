// SignalBus: finds the signal models of a DataSource and flushes, counts and inspects them.
import type {DataSource} from 'typeorm'
import {FlushEngine} from './engine/flush-engine.js'
import {dialectFor} from './engine/dialects/index.js'
import {DatabaseError, FlushError, SignalbusConfigError, describeError} from './errors.js'
import {modelLookup} from './model-names.js'
import {emptyReport, type FlushReport} from './flush-report.js'
import {silentLogger, type Logger} from './logger.js'
import {signalModelOf, validateBurstCount, type SignalModel, type SignalModelClass} from './signal-model.js'
import {sleep} from './sleep.js'

export interface SignalBusOptions {
  logger?: Logger
}

/** A model as the caller may name it: the SignalModel, its entity class, or its class/table name. */
export type ModelRef = SignalModel | SignalModelClass | string

export interface FlushOptions {
  /** Signals per transaction for every model, instead of each model's `signalbusBurstCount`. */
  burst?: number
  /** Stops between bursts when aborted; the burst in progress finishes. */
  signal?: AbortSignal
  /** Called after each committed burst. */
  onBurst?: (model: SignalModel, sent: number) => void
}

export interface FlushPendingOptions extends FlushOptions {
  /** Seconds to wait after counting the pending signals and before sending them. */
  wait?: number
}

export interface SignalModelStatus {
  name: string
  table: string
  burstCount: number
  /** `signalbusOrderingKey` as declared (a property name or an array of them), or null for an unordered model. */
  orderingKey: string | string[] | null
  pending: number
  /** Age of the oldest pending signal, for models with a `@CreateDateColumn`; otherwise null. */
  oldestPendingSeconds: number | null
}

export class SignalBus {
  private readonly logger: Logger
  private readonly engine: FlushEngine
  private models: SignalModel[] | undefined

  constructor(
    readonly dataSource: DataSource,
    options: SignalBusOptions = {},
  ) {
    if (!dataSource.isInitialized) {
      throw new SignalbusConfigError('The DataSource given to SignalBus must be initialized first.')
    }
    this.logger = options.logger ?? silentLogger
    this.engine = new FlushEngine(dataSource, dialectFor(dataSource), this.logger)
  }

  /** Every entity of the DataSource that is a signal model, in entity order. */
  getSignalModels(): SignalModel[] {
    this.models ??= this.dataSource.entityMetadatas.flatMap((metadata) => signalModelOf(metadata) ?? [])
    return this.models
  }

  /** Sends all pending signals of the models (default: all); returns how many were sent. Throws FlushError if any model failed. */
  async flushmany(models?: readonly ModelRef[], options: FlushOptions = {}): Promise<number> {
    return this.throwIfFailed(await this.flushmanyReport(models, options))
  }

  /** Like flushmany, but reports failures per model instead of throwing. */
  async flushmanyReport(models?: readonly ModelRef[], options: FlushOptions = {}): Promise<FlushReport> {
    return this.runOverModels(models, options, () => undefined)
  }

  /** Sends the signals pending at the call (optionally after `wait` seconds), then stops. Throws FlushError if any model failed. */
  async flush(models?: readonly ModelRef[], options: FlushPendingOptions = {}): Promise<number> {
    return this.throwIfFailed(await this.flushReport(models, options))
  }

  /**
   * Like flush, but reports failures per model instead of throwing. "Pending at the call" is counted,
   * not remembered: after the wait, up to that many signals are sent per model, oldest key first.
   */
  async flushReport(models?: readonly ModelRef[], options: FlushPendingOptions = {}): Promise<FlushReport> {
    const resolved = this.resolve(models)
    const counts = await this.pending(resolved)
    if (options.wait) await sleep(options.wait * 1000, options.signal)
    return this.runOverModels(resolved, options, (model) => counts[model.name] ?? 0)
  }

  /** Pending signal counts per model name. */
  async pending(models?: readonly ModelRef[]): Promise<Record<string, number>> {
    const counts: Record<string, number> = {}
    for (const model of this.resolve(models)) counts[model.name] = await this.countPending(model)
    return counts
  }

  /** Name, table, burst count, ordering key, pending count and age of the oldest pending signal, per model. */
  async status(models?: readonly ModelRef[]): Promise<SignalModelStatus[]> {
    const result: SignalModelStatus[] = []
    for (const model of this.resolve(models)) {
      result.push({
        name: model.name,
        table: this.engine.table(model).displayName,
        burstCount: model.burstCount,
        orderingKey: model.orderingKey,
        pending: await this.countPending(model),
        oldestPendingSeconds: await this.oldestPendingSeconds(model),
      })
    }
    return result
  }

  /** The models whose table does not exist in the database. */
  async missingTables(models?: readonly ModelRef[]): Promise<SignalModel[]> {
    const runner = this.dataSource.createQueryRunner()
    try {
      const missing: SignalModel[] = []
      for (const model of this.resolve(models)) {
        if (!(await runner.hasTable(model.metadata.tablePath))) missing.push(model)
      }
      return missing
    } finally {
      await runner.release()
    }
  }

  private async runOverModels(
    models: readonly ModelRef[] | undefined,
    options: FlushOptions,
    maxSignalsOf: (model: SignalModel) => number | undefined,
  ): Promise<FlushReport> {
    const started = performance.now()
    const report = emptyReport()
    const burstOverride = options.burst === undefined ? undefined : validateBurstCount(options.burst)
    for (const model of this.resolve(models)) {
      if (options.signal?.aborted) break
      report.models[model.name] = 0
      try {
        await this.engine.flushModel(model, {
          burst: burstOverride ?? model.burstCount,
          maxSignals: maxSignalsOf(model),
          signal: options.signal,
          onBurst: (flushed, sent) => {
            report.models[flushed.name]! += sent
            report.sent += sent
            options.onBurst?.(flushed, sent)
          },
        })
      } catch (error) {
        const message = describeError(error)
        this.logger.error(message)
        report.failed.push({model: model.name, error: message})
      }
    }
    report.seconds = (performance.now() - started) / 1000
    return report
  }

  private throwIfFailed(report: FlushReport): number {
    if (report.failed.length === 0) return report.sent
    const names = report.failed.map((failure) => failure.model).join(', ')
    throw new FlushError(`Flushing failed for ${names}: ${report.failed[0]!.error}`, report)
  }

  private resolve(models: readonly ModelRef[] | undefined): SignalModel[] {
    const all = this.getSignalModels()
    if (models === undefined) return all
    const byName = modelLookup(all)
    return models.map((ref) => {
      const found =
        typeof ref === 'string' ? byName(ref) : all.find((model) => model === ref || model.target === ref)
      if (!found) throw new SignalbusConfigError(`${describeRef(ref)} is not a signal model of this DataSource.`)
      return found
    })
  }

  private async countPending(model: SignalModel): Promise<number> {
    const table = this.engine.table(model)
    const rows = await this.query<{count: string | number}>(`SELECT COUNT(*) AS count FROM ${table.sqlName}`, table.displayName)
    return Number(rows[0]?.count ?? 0)
  }

  private async oldestPendingSeconds(model: SignalModel): Promise<number | null> {
    const table = this.engine.table(model)
    if (!table.sqlCreatedAtColumn) return null
    const sql = this.engine.dialect.oldestAgeQuery(table, table.sqlCreatedAtColumn)
    const age = (await this.query<{age: unknown}>(sql, table.displayName))[0]?.age
    if (age === null || age === undefined) return null
    const seconds = Number(age)
    return Number.isFinite(seconds) ? Math.max(0, Math.round(seconds)) : null
  }

  private async query<T>(sql: string, tableName: string): Promise<T[]> {
    try {
      return (await this.dataSource.query(sql)) as T[]
    } catch (error) {
      throw new DatabaseError(`Reading ${tableName} failed: ${describeError(error)}`, {cause: error})
    }
  }
}

function describeRef(ref: ModelRef): string {
  if (typeof ref === 'string') return `"${ref}"`
  if (typeof ref === 'function') return `Class ${ref.name || '(anonymous)'}`
  return `Model "${ref.name}"`
}
