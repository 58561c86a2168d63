// SignalBus: finds the signal models of a DataSource and flushes, counts and inspects them.
import type {DataSource} from 'typeorm'
import {FlushEngine, type SignalFailureEvent} from './engine/flush-engine.js'
import {dialectFor} from './engine/dialects/index.js'
import {bookkeepingFor, bookkeepingTables} from './engine/dialects/bookkeeping/index.js'
import {FailingSignals} from './engine/failing-signals.js'
import type {FailureRecorder} from './engine/failure-recorder.js'
import {DeadLetters, type DeadLetter, type RequeueOptions, type RequeueReport} from './dead-letters/index.js'
import {applySetup, setupPlan, type SetupContext, type SetupPlan} from './setup/index.js'
import {DatabaseError, FlushError, SignalSendError, SignalbusConfigError, describeError} from './errors.js'
import {modelLookup} from './model-names.js'
import {Turns, repeatPerModel} from './model-schedules.js'
import {connectionBudget} from './engine/connection-budget.js'
import {poolSizeOf} from './engine/dialects/dialect.js'
import {
  deadLetteredMessage,
  emptyReport,
  pendingSignalsMessage,
  type FlushReport,
  type SignalFailures,
} from './flush-report.js'
import type {FlushObserver} from './flush-observer.js'
import {silentLogger, type Logger} from './logger.js'
import {
  signalModelOf,
  validateBurstCount,
  validateConcurrency,
  validateInFlight,
  validateMaxAttempts,
  type SignalModel,
  type SignalModelClass,
} from './signal-model.js'
import {sleep} from './sleep.js'
import {assertSupportedDataSource} from './typeorm-compat.js'

export interface SignalBusOptions {
  logger?: Logger
  /**
   * Counts the failures of signals whose own send failed and moves them to the dead letters after their
   * maxAttempts-th (`signalbusMaxAttempts`, or the `maxAttempts` flush option). Default: signalbus's dead letters,
   * which write nothing (failing signals stay pending) until `signalbus setup --apply` created their tables.
   */
  failureRecorder?: FailureRecorder
  /** Told about every committed burst, failed send, dead letter and finished round (metrics, health probes). */
  observer?: FlushObserver
}

/** A model as the caller may name it: the SignalModel, its entity class, or its class/table name. */
export type ModelRef = SignalModel | SignalModelClass | string

export interface FlushOptions {
  /** Signals per transaction for every model, instead of each model's `signalbusBurstCount`. */
  burst?: number
  /**
   * Bursts being sent at once for every model, instead of each model's `signalbusInFlight` (default 1). Above 1 the
   * send methods are called concurrently. Each model holds in-flight + 1 connections; capped to the pool (with a
   * warning), and 1 on SQLite.
   */
  inFlight?: number
  /**
   * Models flushed at once (default: as many as the pool allows, at most 4). Capped, with a warning, so that
   * concurrency × (in-flight + 1) ≤ pool size − 1; 1 on SQLite.
   */
  concurrency?: number
  /** Stops between bursts when aborted; the burst in progress finishes. */
  signal?: AbortSignal
  /** Called after each committed burst. */
  onBurst?: (model: SignalModel, sent: number) => void
  /** For every model, instead of each model's `signalbusMaxAttempts` (used only with a failure recorder). */
  maxAttempts?: number
  /** Called for each signal whose own send failed (it stays pending, or was moved to the dead letters). */
  onSignalFailure?: (model: SignalModel, failure: SignalFailureEvent) => void
  /** Called when a model's flush has ended, with what it did. */
  onModelFlushed?: (model: SignalModel, outcome: ModelFlushOutcome) => void
}

/** What one model's flush did (the `onModelFlushed` event). */
export interface ModelFlushOutcome {
  sent: number
  /** Signals whose own send failed and that stay pending. */
  failedSignals: number
  deadLettered: number
  /** Set when the model stopped: broker or database failure, sends failing whatever the split. */
  error: unknown
  seconds: number
}

export interface RunOptions extends FlushPendingOptions {
  /** Each model's rounds start this many seconds apart (the time a round took is subtracted). */
  intervalSeconds: number
  /** Default: all. */
  models?: readonly ModelRef[]
  /** 'flushmany' (default): a round sends everything pending; 'flush': what was pending when the round began. */
  mode?: 'flushmany' | 'flush'
  /** The longest wait after failed rounds of one model, and after failures of one signal (default 60 s). */
  maxBackoffSeconds?: number
  /** Each round of each model, as a report of that model alone. */
  onRound?: (report: FlushReport, model: SignalModel) => void
  /** A round in which the model stopped; its next round comes after `retryInSeconds` (its own backoff). */
  onRoundFailed?: (model: SignalModel, retryInSeconds: number) => void
  /** How a model's loop waits between its rounds (default: a plain sleep); the CLI's --listen ends it on an insert. */
  sleep?: (model: SignalModel, milliseconds: number, signal?: AbortSignal) => Promise<void>
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
  /** Signals moved to the dead letters; null when the bookkeeping tables do not exist. */
  deadLetters: number | null
}

/** What the connection pool allows for a run: bursts in flight per model and models at once. */
interface RunPlan {
  inFlightOf(model: SignalModel): number
  concurrency: number
}

export class SignalBus {
  private readonly logger: Logger
  private readonly engine: FlushEngine
  private readonly book: DeadLetters
  /** What the engine tells about signals whose own send failed. */
  readonly failureRecorder: FailureRecorder
  private readonly observer: FlushObserver
  private models: SignalModel[] | undefined

  constructor(
    readonly dataSource: DataSource,
    options: SignalBusOptions = {},
  ) {
    assertSupportedDataSource(dataSource)
    if (!dataSource.isInitialized) {
      throw new SignalbusConfigError('The DataSource given to SignalBus must be initialized first.')
    }
    this.logger = options.logger ?? silentLogger
    this.book = new DeadLetters(dataSource, (model) => this.engine.table(model), this.logger)
    this.failureRecorder = options.failureRecorder ?? this.book
    this.observer = options.observer ?? {}
    this.engine = new FlushEngine(dataSource, dialectFor(dataSource), this.logger, this.failureRecorder, this.observer)
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
    const resolved = this.resolve(models)
    const deadLetters = await this.book.counts(resolved)
    const result: SignalModelStatus[] = []
    for (const model of resolved) {
      result.push({
        name: model.name,
        table: this.engine.table(model).displayName,
        burstCount: model.burstCount,
        orderingKey: model.orderingKey,
        pending: await this.countPending(model),
        oldestPendingSeconds: await this.oldestPendingSeconds(model),
        deadLetters: deadLetters === null ? null : (deadLetters[model.name] ?? 0),
      })
    }
    return result
  }

  /** The models' dead letters (default: all models). Throws BookkeepingNotSetUpError before `signalbus setup --apply`. */
  async deadLetters(models?: readonly ModelRef[]): Promise<DeadLetter[]> {
    return this.book.list(this.resolve(models))
  }

  /** Dead letters per model name, or null when the bookkeeping tables do not exist. */
  async deadLetterCounts(models?: readonly ModelRef[]): Promise<Record<string, number> | null> {
    return this.book.counts(this.resolve(models))
  }

  /**
   * Puts dead letters back into their tables with their original values (one transaction each) and clears their
   * attempt counts: those with the given keys, or every one with `all`. Throws BookkeepingNotSetUpError without the tables.
   */
  async requeue(models: readonly ModelRef[] | undefined, options: RequeueOptions): Promise<RequeueReport> {
    return this.book.requeue(this.resolve(models), options)
  }

  /** The statements `signalbus setup` would run for this data source (nothing is run). */
  setupPlan(models?: readonly ModelRef[]): SetupPlan {
    return setupPlan(this.setupContext(models))
  }

  /** Runs the setup statements idempotently (one transaction where the database allows DDL in one); returns them. */
  async setup(models?: readonly ModelRef[]): Promise<SetupPlan> {
    const context = this.setupContext(models)
    const plan = setupPlan(context)
    await applySetup(context, plan)
    this.book.forgetTables()
    return plan
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

  private setupContext(models: readonly ModelRef[] | undefined): SetupContext {
    const bookkeeping = bookkeepingFor(this.dataSource)
    return {
      dataSource: this.dataSource,
      databaseType: this.dataSource.options.type,
      bookkeeping,
      tables: bookkeepingTables(this.dataSource, bookkeeping),
      models: this.resolve(models),
      tableOf: (model) => this.engine.table(model),
    }
  }

  /**
   * Flushes every model on a schedule of its own until `signal` is aborted: a model's rounds come every
   * `intervalSeconds`, and only a round in which that model stopped (broker, database) makes its own next round
   * wait longer. Signals whose own send failed are tried again alone, each on its own backoff. Models are flushed
   * at the same time, as many as the connection pool allows (one at a time on SQLite).
   */
  async run(options: RunOptions): Promise<void> {
    const models = this.resolve(options.models)
    if (!(options.intervalSeconds > 0)) {
      throw new SignalbusConfigError(`The interval must be a positive number of seconds, got ${String(options.intervalSeconds)}.`)
    }
    if (options.burst !== undefined) validateBurstCount(options.burst)
    if (options.maxAttempts !== undefined) validateMaxAttempts(options.maxAttempts)
    const intervalMs = options.intervalSeconds * 1000
    const maxBackoffMs = Math.max(intervalMs, (options.maxBackoffSeconds ?? 60) * 1000)
    const failing = new Map(models.map((model) => [model, new FailingSignals({intervalMs, maxBackoffMs})]))
    const plan = this.plan(models, options)
    await repeatPerModel(
      models,
      {
        intervalSeconds: options.intervalSeconds,
        signal: options.signal,
        maxBackoffSeconds: options.maxBackoffSeconds,
        concurrency: plan.concurrency,
        sleep: options.sleep,
      },
      async (model) => {
        let result: {report: FlushReport; stopped: string[]}
        try {
          const counts = options.mode === 'flush' ? await this.pending([model]) : undefined
          if (counts && options.wait) await sleep(options.wait * 1000, options.signal)
          result = await this.flushModels([model], options, plan, () => counts?.[model.name], () => failing.get(model))
        } catch (error) {
          // Counting the pending signals failed (the database): a failed round like any other.
          const report = {...emptyReport(), models: {[model.name]: 0}, failed: [{model: model.name, error: describeError(error)}]}
          result = {report, stopped: [model.name]}
          this.observer.roundFinished?.({sent: 0, failed: [{model: model.name, error}], seconds: 0})
        }
        options.onRound?.(result.report, model)
        return result.stopped.length === 0
      },
      (model, _error, retryIn) => options.onRoundFailed?.(model, retryIn),
    )
  }

  private async runOverModels(
    models: readonly ModelRef[] | undefined,
    options: FlushOptions,
    maxSignalsOf: (model: SignalModel) => number | undefined,
  ): Promise<FlushReport> {
    const resolved = this.resolve(models)
    return (await this.flushModels(resolved, options, this.plan(resolved, options), maxSignalsOf, () => undefined)).report
  }

  /**
   * Bursts in flight per model and models at once, capped so that the flushes fit in the connection pool (one
   * connection kept free); each cap is one warning line.
   */
  private plan(models: readonly SignalModel[], options: FlushOptions): RunPlan {
    const inFlightOf = (model: SignalModel): number =>
      options.inFlight === undefined ? model.inFlight : validateInFlight(options.inFlight)
    const budget = connectionBudget({
      poolSize: poolSizeOf(this.dataSource),
      overlapsBursts: this.engine.dialect.overlapsBursts,
      inFlight: models.map(inFlightOf),
      concurrency: options.concurrency === undefined ? undefined : validateConcurrency(options.concurrency),
    })
    for (const warning of budget.warnings) this.logger.warn(warning)
    return {inFlightOf: (model) => Math.min(inFlightOf(model), budget.maxInFlight), concurrency: budget.concurrency}
  }

  /**
   * Flushes the models, up to `plan.concurrency` at once, into one report (models in the order given);
   * `stopped` names the models that stopped on an error.
   */
  private async flushModels(
    models: readonly SignalModel[],
    options: FlushOptions,
    plan: RunPlan,
    maxSignalsOf: (model: SignalModel) => number | undefined,
    failingOf: (model: SignalModel) => FailingSignals | undefined,
  ): Promise<{report: FlushReport; stopped: string[]}> {
    const started = performance.now()
    const report = emptyReport()
    const stopped: string[] = []
    const burstOverride = options.burst === undefined ? undefined : validateBurstCount(options.burst)
    const maxAttemptsOverride = options.maxAttempts === undefined ? undefined : validateMaxAttempts(options.maxAttempts)
    const errors: Array<{model: string; error: unknown}> = []
    const failures: Array<{model: string; error: string}> = []
    const turns = new Turns(plan.concurrency)
    for (const model of models) report.models[model.name] = 0
    const flushOne = async (model: SignalModel): Promise<void> => {
      if (options.signal?.aborted) return
      const modelStarted = performance.now()
      let error: unknown
      try {
        await this.engine.flushModel(model, {
          burst: burstOverride ?? model.burstCount,
          inFlight: plan.inFlightOf(model),
          maxSignals: maxSignalsOf(model),
          signal: options.signal,
          failing: failingOf(model),
          maxAttempts: maxAttemptsOverride ?? model.maxAttempts,
          onBurst: (flushed, sent) => {
            report.models[flushed.name]! += sent
            report.sent += sent
            options.onBurst?.(flushed, sent)
          },
          onSignalFailure: (flushed, failure) => {
            countSignalFailure(report, flushed.name, failure)
            options.onSignalFailure?.(flushed, failure)
          },
        })
      } catch (thrown) {
        error = thrown ?? new Error('unknown error')
        stopped.push(model.name)
      }
      const signals = report.failedSignals[model.name]
      const failure = error !== undefined ? describeError(error) : signals?.pending ? pendingSignalsMessage(model.name, signals) : undefined
      if (failure !== undefined) {
        this.logger.error(failure, {model: model.name})
        failures.push({model: model.name, error: failure})
        // Signals that failed on their own got as far as their send: for the observer, a send error of the model's own.
        errors.push({model: model.name, error: error ?? new SignalSendError(model.name, failure)})
      }
      if (signals?.deadLettered) this.logger.info(deadLetteredMessage(model.name, signals))
      options.onModelFlushed?.(model, {
        sent: report.models[model.name]!,
        failedSignals: signals?.pending ?? 0,
        deadLettered: signals?.deadLettered ?? 0,
        error,
        seconds: (performance.now() - modelStarted) / 1000,
      })
    }
    await Promise.all(models.map((model) => turns.take(() => flushOne(model))))
    // In the order the models were given, whichever finished first.
    const order = new Map(models.map((model, index) => [model.name, index]))
    report.failed.push(...failures.sort((a, b) => order.get(a.model)! - order.get(b.model)!))
    report.seconds = (performance.now() - started) / 1000
    this.observer.roundFinished?.({sent: report.sent, failed: errors, seconds: report.seconds})
    return {report, stopped}
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

function countSignalFailure(report: FlushReport, model: string, failure: SignalFailureEvent): void {
  const entry: SignalFailures = (report.failedSignals[model] ??= {
    pending: 0,
    deadLettered: 0,
    firstPending: null,
    firstDeadLettered: null,
  })
  const described = {key: failure.key, error: describeError(failure.error)}
  if (failure.outcome === 'dead-lettered') {
    entry.deadLettered += 1
    entry.firstDeadLettered ??= described
    report.deadLettered += 1
  } else {
    entry.pending += 1
    entry.firstPending ??= described
  }
}

function describeRef(ref: ModelRef): string {
  if (typeof ref === 'string') return `"${ref}"`
  if (typeof ref === 'function') return `Class ${ref.name || '(anonymous)'}`
  return `Model "${ref.name}"`
}
