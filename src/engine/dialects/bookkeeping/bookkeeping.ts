// What signalbus's own bookkeeping tables (failure attempts, dead letters) need from a database: their DDL, the
// transactions around them, and how a signal row is captured as text and restored exactly. One module per database.
import type {QueryRunner} from 'typeorm'
import type {SignalTable} from '../../signal-table.js'

/** The bookkeeping tables of one data source, quoted and qualified for SQL, and as names for messages. */
export interface BookkeepingTables {
  readonly attempts: string
  readonly deadLetters: string
  /** Unquoted (schema.)table names, as TypeORM's hasTable() and messages take them. */
  readonly attemptsPath: string
  readonly deadLettersPath: string
}

/**
 * One column value of a captured row, in the database's own exact text form, or as hex for bytes. `type` is the
 * column's type as the database declares it (SQLite: the value's storage class), which tells how to restore it.
 */
export type StoredValue = StoredText | StoredBytes
export interface StoredText {
  readonly type: string
  readonly text: string
}
export interface StoredBytes {
  readonly type: string
  readonly hex: string
}

/** A captured row: column name → value (null for SQL NULL). */
export type StoredRow = Record<string, StoredValue | null>

/** A column of a signal table as the database describes it. */
export interface TableColumn {
  readonly name: string
  readonly type: string
  /** Computed by the database (generated columns): never captured, never inserted. */
  readonly generated: boolean
  /** An identity column that refuses given values unless the INSERT says so (PostgreSQL GENERATED ALWAYS). */
  readonly identityAlways: boolean
}

/** An INSERT's VALUES entry for one stored value: SQL with one placeholder, and the parameter for it. */
export interface RestoredValue {
  readonly sql: string
  readonly parameter: unknown
}

export interface AttemptRecord {
  readonly model: string
  readonly key: string
  readonly error: string
}

export interface BookkeepingDialect {
  /** False where DDL commits implicitly (MySQL/MariaDB): setup then runs statement by statement. */
  readonly transactionalDdl: boolean
  /** The schema/database that qualifies the bookkeeping tables, if any. */
  readonly qualifier: string | undefined
  /** `CREATE TABLE IF NOT EXISTS` statements for both tables. */
  createTables(tables: BookkeepingTables): string[]
  /** `?`, or `$n` for the n-th parameter (1-based). */
  parameter(index: number): string
  /** SQL for the current time, as stored in the bookkeeping tables' time columns. */
  readonly now: string
  /** SQL reading a bookkeeping time column as an ISO 8601 UTC string. */
  isoTime(column: string): string
  /** Appended to a SELECT that locks rows without waiting for rows others hold ('' where the database has one writer). */
  readonly lockSkipLocked: string
  /** Appended to a SELECT that locks rows, waiting for them ('' where the database has one writer). */
  readonly lockWaiting: string
  /**
   * Adds one failure to the attempts row of (model, key), creating it with 1, inside the open transaction; returns
   * the new count. The row stays locked until the transaction ends, so two recorders of one signal take turns.
   */
  addAttempt(runner: QueryRunner, tables: BookkeepingTables, attempt: AttemptRecord): Promise<number>
  begin(runner: QueryRunner): Promise<void>
  commit(runner: QueryRunner): Promise<void>
  rollback(runner: QueryRunner): Promise<void>
  /** The table's columns, in table order. */
  columns(runner: QueryRunner, table: SignalTable): Promise<TableColumn[]>
  /** Select-list expressions that turn each column into its exact stored form; read back by storedRow(). */
  captureExpressions(columns: readonly TableColumn[]): string[]
  /** The captured row from one result row of a SELECT of captureExpressions(). */
  storedRow(columns: readonly TableColumn[], result: Record<string, unknown>): StoredRow
  /** The INSERT's value for one stored value (`index` is its placeholder's 1-based position). */
  restoreValue(value: StoredValue | null, index: number): RestoredValue
  /** Words between `INSERT INTO t (…)` and `VALUES`, e.g. PostgreSQL's OVERRIDING SYSTEM VALUE for identity columns. */
  insertOverriding(columns: readonly TableColumn[]): string
}

/** The alias of the n-th captured column (0-based): positional, so that no column name needs quoting twice. */
export const captureAlias = (index: number, part: 'v' | 't' = 'v'): string => `${part}${index}`

export const isHex = (value: StoredValue): value is StoredBytes => 'hex' in value
