// Dead letters: counts each signal's failed sends in signalbus's attempts table and, at the model's limit, moves the
// signal row into the dead-letter table in one transaction; lists them and puts them back (requeue). Opt in: nothing
// is read or written unless `signalbus setup --apply` created both tables.
import type {DataSource, QueryRunner} from 'typeorm'
import {dialectFor} from '../engine/dialects/index.js'
import {
  bookkeepingFor,
  bookkeepingTables,
  type BookkeepingDialect,
  type BookkeepingTables,
  type StoredRow,
  type TableColumn,
} from '../engine/dialects/bookkeeping/index.js'
import {
  bookkeepingStatements,
  signalTableStatements,
  type BookkeepingStatements,
} from '../engine/dialects/bookkeeping/statements.js'
import type {FailureOutcome, FailureRecorder, SignalFailure} from '../engine/failure-recorder.js'
import {describeTable, type RawRow, type SignalTable} from '../engine/signal-table.js'
import {BookkeepingNotSetUpError, DatabaseError, SignalbusConfigError, describeError} from '../errors.js'
import {silentLogger, type Logger} from '../logger.js'
import type {SignalModel} from '../signal-model.js'
import {formatKey, keyObject, storedKey, storedKeyOf, storedKeyValues, type DeadLetterKey} from './keys.js'

/** The stored error is cut to this many characters: enough for any message, bounded for the table. */
const MAX_ERROR_LENGTH = 2000

/** The version of the JSON written to `signal_row`. */
const ROW_FORMAT = 1

interface StoredSignalRow {
  format: number
  columns: StoredRow
}

/** A signal moved out of its table after failing too often. */
export interface DeadLetter {
  /** The signal model's entity class name. */
  model: string
  /** Primary-key column → value, as text. */
  key: Record<string, string>
  /** The last failure's message. */
  error: string
  attempts: number
  firstFailedAt: Date
  lastFailedAt: Date
}

export interface RequeueOptions {
  /** The dead letters to put back; each an object column → value, or the value for a one-column key. */
  keys?: readonly DeadLetterKey[]
  /** Every dead letter of the models (when no keys are given). */
  all?: boolean
  /** A key without a dead letter is an error (SignalbusConfigError), found before anything is put back. */
  strict?: boolean
}

export interface RequeueFailure {
  model: string
  key: Record<string, string>
  error: string
}

export interface RequeueReport {
  /** Signals put back, per model name (every model asked for appears). */
  requeued: Record<string, number>
  /** Keys asked for that have no dead letter. */
  missing: Array<{model: string; key: Record<string, string>}>
  /** Dead letters that could not be put back (their transaction rolled back; they are still dead letters). */
  failed: RequeueFailure[]
}

interface ListedRow {
  model: string
  signal_key: string
  last_error: string
  attempts: number | string
  first_failed_at: string | Date
  last_failed_at: string | Date
}

export class DeadLetters implements FailureRecorder {
  private readonly dialect: BookkeepingDialect
  readonly tables: BookkeepingTables
  private readonly sql: BookkeepingStatements
  private setUp: Promise<boolean> | undefined

  private warnedNotSetUp = false

  /** Does no I/O: whether the tables exist is asked once, on first use. */
  constructor(
    private readonly dataSource: DataSource,
    private readonly tableOf: (model: SignalModel) => SignalTable = defaultTableOf(dataSource),
    private readonly logger: Logger = silentLogger,
  ) {
    this.dialect = bookkeepingFor(dataSource)
    this.tables = bookkeepingTables(dataSource, this.dialect)
    this.sql = bookkeepingStatements(this.dialect, this.escape, this.tables)
  }

  /** The dead letters of a data source when its bookkeeping tables exist, else undefined. */
  static async forDataSource(dataSource: DataSource): Promise<DeadLetters | undefined> {
    const deadLetters = new DeadLetters(dataSource)
    return (await deadLetters.isSetUp()) ? deadLetters : undefined
  }

  /** True when both bookkeeping tables exist; asked once (a process started before `setup --apply` keeps its answer). */
  isSetUp(): Promise<boolean> {
    this.setUp ??= this.tablesExist().catch((error: unknown) => {
      this.setUp = undefined
      throw new DatabaseError(`Looking for signalbus's bookkeeping tables failed: ${describeError(error)}`, {cause: error})
    })
    return this.setUp
  }

  /** Asks again on next use whether the tables exist (after setup created them). */
  forgetTables(): void {
    this.setUp = undefined
  }

  /** Without the tables: 'pending', and nothing is written (one warning per process says why nothing moves). */
  async recordFailure(failure: SignalFailure): Promise<FailureOutcome> {
    if (!(await this.isSetUp())) {
      if (!this.warnedNotSetUp) {
        this.warnedNotSetUp = true
        this.logger.warn(
          `Failing signals stay pending: signalbus's dead-letter tables do not exist (run \`signalbus setup --apply\`).`,
        )
      }
      return 'pending'
    }
    const {model, table, row} = failure
    const keyValues = table.keyColumns.map((column) => row[column])
    const key = storedKey(keyValues)
    const error = describeError(failure.error).slice(0, MAX_ERROR_LENGTH)
    // The engine says which signal's failure this was; the error says what went wrong.
    return this.inTransaction(async (runner) => {
      const attempts = await this.dialect.addAttempt(runner, this.tables, {model: model.name, key, error})
      let outcome: FailureOutcome = 'pending'
      if (attempts >= failure.maxAttempts) outcome = await this.moveToDeadLetters(runner, model, table, keyValues, key)
      await this.purgeDelivered(runner, model, table, key)
      return outcome
    })
  }

  /** The dead letters of the models, oldest first per model. Throws BookkeepingNotSetUpError without the tables. */
  async list(models: readonly SignalModel[]): Promise<DeadLetter[]> {
    await this.requireSetUp()
    if (models.length === 0) return []
    const keyColumnsOf = new Map(models.map((model) => [model.name, this.tableOf(model).keyColumns]))
    const rows = await this.read<ListedRow>(this.sql.listDeadLetters(models.length), models.map((model) => model.name))
    return rows.map((row) => ({
      model: row.model,
      key: keyObject(keyColumnsOf.get(row.model) ?? [], row.signal_key),
      error: row.last_error,
      attempts: Number(row.attempts),
      firstFailedAt: new Date(row.first_failed_at),
      lastFailedAt: new Date(row.last_failed_at),
    }))
  }

  /** Dead letters per model name (0 for none), or null when the tables do not exist. */
  async counts(models: readonly SignalModel[]): Promise<Record<string, number> | null> {
    if (!(await this.isSetUp())) return null
    const counts: Record<string, number> = Object.fromEntries(models.map((model) => [model.name, 0]))
    if (models.length === 0) return counts
    const rows = await this.read<{model: string; count: number | string}>(
      this.sql.countDeadLetters(models.length),
      models.map((model) => model.name),
    )
    for (const row of rows) counts[row.model] = Number(row.count)
    return counts
  }

  /**
   * Puts dead letters back into their tables with their original values, one transaction each, and clears their
   * attempt counts. Keys are checked before anything is put back.
   */
  async requeue(models: readonly SignalModel[], options: RequeueOptions): Promise<RequeueReport> {
    await this.requireSetUp()
    const wanted = models.map((model) => {
      const keyColumns = this.tableOf(model).keyColumns
      return {model, keys: options.keys?.map((given) => storedKeyOf(keyColumns, given, model.name))}
    })
    if (options.strict) await this.requireDeadLetters(wanted)
    const report: RequeueReport = {requeued: {}, missing: [], failed: []}
    for (const {model, keys} of wanted) {
      report.requeued[model.name] = 0
      const table = this.tableOf(model)
      const all = keys ?? (options.all ? await this.deadLetterKeys(model) : [])
      for (const key of all) {
        try {
          if (await this.requeueOne(model, table, key)) report.requeued[model.name]! += 1
          else report.missing.push({model: model.name, key: keyObject(table.keyColumns, key)})
        } catch (error) {
          report.failed.push({model: model.name, key: keyObject(table.keyColumns, key), error: describeError(error)})
        }
      }
    }
    return report
  }

  private async requireDeadLetters(wanted: Array<{model: SignalModel; keys: string[] | undefined}>): Promise<void> {
    const missing: string[] = []
    for (const {model, keys} of wanted) {
      if (!keys) continue
      const existing = new Set(await this.deadLetterKeys(model))
      const keyColumns = this.tableOf(model).keyColumns
      for (const key of keys) {
        if (!existing.has(key)) missing.push(`"${model.name}" ${formatKey(keyObject(keyColumns, key))}`)
      }
    }
    if (missing.length > 0) throw new SignalbusConfigError(`No dead letter has the key ${missing.join(', ')}.`)
  }

  private readonly escape = (name: string): string => this.dataSource.driver.escape(name)

  private async tablesExist(): Promise<boolean> {
    const runner = this.dataSource.createQueryRunner()
    try {
      return (await runner.hasTable(this.tables.attemptsPath)) && (await runner.hasTable(this.tables.deadLettersPath))
    } finally {
      await runner.release()
    }
  }

  private async requireSetUp(): Promise<void> {
    if (await this.isSetUp()) return
    throw new BookkeepingNotSetUpError(
      `signalbus's dead-letter tables (${this.tables.attemptsPath}, ${this.tables.deadLettersPath}) do not exist; ` +
        'run `signalbus setup --apply` first.',
    )
  }

  /**
   * Locks the signal row without waiting: a row another flusher holds is left for the next failure, and a row that
   * is gone (delivered meanwhile) takes its attempt count with it.
   */
  private async moveToDeadLetters(
    runner: QueryRunner,
    model: SignalModel,
    table: SignalTable,
    keyValues: unknown[],
    key: string,
  ): Promise<FailureOutcome> {
    const statements = signalTableStatements(this.dialect, this.escape, table)
    const columns = await this.capturedColumns(runner, table)
    const captured = (await runner.query(statements.lockAndCapture(columns), keyValues)) as RawRow[]
    if (captured.length === 0) {
      const exists = ((await runner.query(statements.exists, keyValues)) as RawRow[]).length > 0
      if (!exists) await runner.query(this.sql.deleteAttempt, [model.name, key])
      return 'pending'
    }
    const stored: StoredSignalRow = {format: ROW_FORMAT, columns: this.dialect.storedRow(columns, captured[0]!)}
    await runner.query(this.sql.insertDeadLetter, [table.displayName, JSON.stringify(stored), model.name, key])
    await runner.query(statements.delete, keyValues)
    await runner.query(this.sql.deleteAttempt, [model.name, key])
    return 'dead-lettered'
  }

  /** Drops a few attempt rows of the model whose signal no longer exists (delivered after failing), skipping locked ones. */
  private async purgeDelivered(runner: QueryRunner, model: SignalModel, table: SignalTable, key: string): Promise<void> {
    const candidates = ((await runner.query(this.sql.purgeCandidates, [model.name, key])) as Array<{signal_key: string}>).map(
      (row) => row.signal_key,
    )
    if (candidates.length === 0) return
    const statements = signalTableStatements(this.dialect, this.escape, table)
    const existing = (await runner.query(
      statements.existingKeys(candidates.length),
      candidates.flatMap((candidate) => storedKeyValues(candidate)),
    )) as RawRow[]
    const present = new Set(existing.map((row) => storedKey(table.keyColumns.map((column) => row[column]))))
    for (const candidate of candidates) {
      if (!present.has(candidate)) await runner.query(this.sql.deleteAttempt, [model.name, candidate])
    }
  }

  private async requeueOne(model: SignalModel, table: SignalTable, key: string): Promise<boolean> {
    // The report names the dead letter; the error says what went wrong.
    return this.inTransaction(async (runner) => {
      const rows = (await runner.query(this.sql.lockDeadLetter, [model.name, key])) as Array<{signal_row: string}>
      if (rows.length === 0) return false
      const stored = JSON.parse(rows[0]!.signal_row) as StoredSignalRow
      const columns = await this.capturedColumns(runner, table)
      const known = new Set(columns.map((column) => column.name))
      const gone = Object.keys(stored.columns).filter((name) => !known.has(name))
      if (gone.length > 0) {
        throw new DatabaseError(`${table.displayName} no longer has the column(s) ${gone.join(', ')} the dead letter holds`)
      }
      const restored = columns.filter((column) => column.name in stored.columns)
      const values = restored.map((column, index) => this.dialect.restoreValue(stored.columns[column.name] ?? null, index + 1))
      const insert = signalTableStatements(this.dialect, this.escape, table).insert(
        restored.map((column) => column.name),
        values.map((value) => value.sql),
        this.dialect.insertOverriding(restored),
      )
      await runner.query(insert, values.map((value) => value.parameter))
      await runner.query(this.sql.deleteDeadLetter, [model.name, key])
      await runner.query(this.sql.deleteAttempt, [model.name, key])
      return true
    })
  }

  private async deadLetterKeys(model: SignalModel): Promise<string[]> {
    const rows = await this.read<{signal_key: string}>(this.sql.deadLetterKeys, [model.name])
    return rows.map((row) => row.signal_key)
  }

  /** The columns a dead letter holds: all but those the database computes. */
  private async capturedColumns(runner: QueryRunner, table: SignalTable): Promise<TableColumn[]> {
    return (await this.dialect.columns(runner, table)).filter((column) => !column.generated)
  }

  private async read<T>(sql: string, parameters: unknown[]): Promise<T[]> {
    try {
      return (await this.dataSource.query(sql, parameters)) as T[]
    } catch (error) {
      throw new DatabaseError(`Reading ${this.tables.deadLettersPath} failed: ${describeError(error)}`, {cause: error})
    }
  }

  /** Runs `work` in one bookkeeping transaction on a connection of its own; any failure rolls it all back. */
  private async inTransaction<T>(work: (runner: QueryRunner) => Promise<T>): Promise<T> {
    const runner = this.dataSource.createQueryRunner()
    let open = false
    try {
      await this.dialect.begin(runner)
      open = true
      const result = await work(runner)
      await this.dialect.commit(runner)
      open = false
      return result
    } catch (error) {
      if (open) await this.dialect.rollback(runner).catch(() => undefined)
      throw error instanceof DatabaseError ? error : new DatabaseError(describeError(error), {cause: error})
    } finally {
      await runner.release()
    }
  }
}

function defaultTableOf(dataSource: DataSource): (model: SignalModel) => SignalTable {
  const dialect = dialectFor(dataSource)
  return (model) => describeTable(dataSource, model.metadata, dialect.tableQualifier(model.metadata))
}
