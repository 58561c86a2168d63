// The bookkeeping statements every database writes alike, built from its dialect's placeholders, clock and locks.
import type {SignalTable} from '../../signal-table.js'
import type {BookkeepingDialect, BookkeepingTables, TableColumn} from './bookkeeping.js'

/** The column types of the bookkeeping tables in one database, and what follows a CREATE TABLE's column list. */
export interface BookkeepingColumnTypes {
  readonly model: string
  readonly key: string
  readonly integer: string
  readonly time: string
  readonly text: string
  /** The captured signal row (JSON), which may be large. */
  readonly row: string
  readonly tableOptions?: string
}

/** How many attempt rows one recorded failure checks for signals that are gone (delivered since). */
export const PURGE_BATCH = 20

export type Escape = (name: string) => string

/** `CREATE TABLE IF NOT EXISTS` for the attempts table and the dead-letter table, both keyed by (model, signal_key). */
export function createTableStatements(escape: Escape, tables: BookkeepingTables, types: BookkeepingColumnTypes): string[] {
  const column = (name: string, type: string): string => `  ${escape(name)} ${type} NOT NULL,`
  const create = (table: string, columns: string[]): string =>
    `CREATE TABLE IF NOT EXISTS ${table} (\n${columns.join('\n')}\n  PRIMARY KEY (${escape('model')}, ${escape('signal_key')})\n)` +
    (types.tableOptions ? ` ${types.tableOptions}` : '')
  const identity = [column('model', types.model), column('signal_key', types.key)]
  return [
    create(tables.attempts, [
      ...identity,
      column('attempts', types.integer),
      column('first_failed_at', types.time),
      column('last_failed_at', types.time),
      column('last_error', types.text),
    ]),
    create(tables.deadLetters, [
      ...identity,
      column('signal_table', types.model),
      column('signal_row', types.row),
      column('last_error', types.text),
      column('attempts', types.integer),
      column('first_failed_at', types.time),
      column('last_failed_at', types.time),
      column('dead_lettered_at', types.time),
    ]),
  ]
}

export function bookkeepingStatements(dialect: BookkeepingDialect, escape: Escape, tables: BookkeepingTables) {
  const p = (index: number): string => dialect.parameter(index)
  const [model, key, attempts, firstFailedAt, lastFailedAt, lastError, signalTable, signalRow, deadLetteredAt] = [
    'model', 'signal_key', 'attempts', 'first_failed_at', 'last_failed_at', 'last_error', 'signal_table', 'signal_row',
    'dead_lettered_at',
  ].map(escape)
  const byKey = `${model} = ${p(1)} AND ${key} = ${p(2)}`
  const inModels = (count: number): string => Array.from({length: count}, (_, index) => p(index + 1)).join(', ')
  const listed = `${model} AS model, ${key} AS signal_key, ${lastError} AS last_error, ${attempts} AS attempts, ` +
    `${dialect.isoTime(firstFailedAt!)} AS first_failed_at, ${dialect.isoTime(lastFailedAt!)} AS last_failed_at`

  return {
    /** Other attempt rows of the model, oldest failure first, locked unless another recorder holds them. */
    purgeCandidates: `SELECT ${key} AS signal_key FROM ${tables.attempts} WHERE ${model} = ${p(1)} AND ${key} <> ${p(2)} ` +
      `ORDER BY ${lastFailedAt} LIMIT ${PURGE_BATCH} ${dialect.lockSkipLocked}`,
    /** Parameters: model, key. */
    deleteAttempt: `DELETE FROM ${tables.attempts} WHERE ${byKey}`,
    /** Parameters: signal table, row JSON, model, key: the dead letter takes its counts and times from the attempts row. */
    insertDeadLetter: `INSERT INTO ${tables.deadLetters} (${model}, ${key}, ${signalTable}, ${signalRow}, ${lastError}, ` +
      `${attempts}, ${firstFailedAt}, ${lastFailedAt}, ${deadLetteredAt}) ` +
      `SELECT ${model}, ${key}, ${p(1)}, ${p(2)}, ${lastError}, ${attempts}, ${firstFailedAt}, ${lastFailedAt}, ${dialect.now} ` +
      `FROM ${tables.attempts} WHERE ${model} = ${p(3)} AND ${key} = ${p(4)}`,
    /** Parameters: the model names. */
    listDeadLetters: (modelCount: number): string =>
      `SELECT ${listed} FROM ${tables.deadLetters} WHERE ${model} IN (${inModels(modelCount)}) ORDER BY ${model}, ${deadLetteredAt}, ${key}`,
    /** Parameters: the model names. */
    countDeadLetters: (modelCount: number): string =>
      `SELECT ${model} AS model, COUNT(*) AS count FROM ${tables.deadLetters} WHERE ${model} IN (${inModels(modelCount)}) GROUP BY ${model}`,
    /** Parameters: model. */
    deadLetterKeys: `SELECT ${key} AS signal_key FROM ${tables.deadLetters} WHERE ${model} = ${p(1)} ORDER BY ${deadLetteredAt}, ${key}`,
    /** Parameters: model, key; waits for a requeue of the same dead letter running elsewhere. */
    lockDeadLetter: `SELECT ${signalRow} AS signal_row FROM ${tables.deadLetters} WHERE ${byKey} ${dialect.lockWaiting}`,
    /** Parameters: model, key. */
    deleteDeadLetter: `DELETE FROM ${tables.deadLetters} WHERE ${byKey}`,
  }
}

export type BookkeepingStatements = ReturnType<typeof bookkeepingStatements>

/** Statements on a signal table, keyed by its primary key; parameters are the key values in key order. */
export function signalTableStatements(dialect: BookkeepingDialect, escape: Escape, table: SignalTable) {
  const keyCondition = (offset: number): string =>
    table.sqlKeyColumns.map((column, index) => `${column} = ${dialect.parameter(offset + index + 1)}`).join(' AND ')
  const width = table.sqlKeyColumns.length
  return {
    /** The row captured for the dead letters, locked; no row when another transaction holds it (or it is gone). */
    lockAndCapture: (columns: readonly TableColumn[]): string =>
      `SELECT ${dialect.captureExpressions(columns).join(', ')} FROM ${table.sqlName} WHERE ${keyCondition(0)} ${dialect.lockSkipLocked}`,
    exists: `SELECT 1 AS found FROM ${table.sqlName} WHERE ${keyCondition(0)}`,
    delete: `DELETE FROM ${table.sqlName} WHERE ${keyCondition(0)}`,
    /** Which of `count` keys still have a row (parameters: the keys' values, one key after the other). */
    existingKeys: (count: number): string =>
      `SELECT ${table.sqlKeyColumns.join(', ')} FROM ${table.sqlName} WHERE ` +
      Array.from({length: count}, (_, index) => `(${keyCondition(index * width)})`).join(' OR '),
    insert: (columns: readonly string[], values: readonly string[], overriding: string): string =>
      `INSERT INTO ${table.sqlName} (${columns.map(escape).join(', ')}) ${overriding ? `${overriding} ` : ''}VALUES (${values.join(', ')})`,
  }
}

export type SignalTableStatements = ReturnType<typeof signalTableStatements>
