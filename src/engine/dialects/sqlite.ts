// SQLite (better-sqlite3): a single writer, so BEGIN IMMEDIATE takes the write lock up front and a
// plain SELECT then DELETE is a safe claim.
import type {QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {errorCode, hasPendingRows, hasFilter, keyFilterCondition, type ClaimFilter, type Dialect, type KeyConditionSyntax} from './dialect.js'

const ROWS_PER_DELETE = 500

/** SQLite compares row values with IN only against a subquery, such as VALUES. */
const sqliteKeySyntax: KeyConditionSyntax = {placeholder: () => '?', rowList: (rows) => `(VALUES ${rows.join(', ')})`}

export const sqliteDialect = (): Dialect => ({
  name: 'sqlite',
  // One writer: a second burst could not begin while the first is open.
  overlapsBursts: false,

  async checkServer(): Promise<void> {},

  tableQualifier: () => undefined,

  async claim(runner: QueryRunner, table: SignalTable, limit: number, filter?: ClaimFilter): Promise<RawRow[]> {
    await runner.query('BEGIN IMMEDIATE')
    const key = table.sqlKeyColumns.join(', ')
    const condition = hasFilter(filter) ? keyFilterCondition(table, filter, sqliteKeySyntax) : {sql: '', parameters: []}
    const where = condition.sql ? ` WHERE ${condition.sql}` : ''
    const select = `SELECT * FROM ${table.sqlName}${where} ORDER BY ${key} LIMIT ?`
    const rows = (await runner.query(select, [...condition.parameters, limit])) as RawRow[]
    // A row value `(?, ?)` per key; SQLite compares row values since 3.15, so composite keys work too.
    const rowValue = `(${table.keyColumns.map(() => '?').join(', ')})`
    for (let start = 0; start < rows.length; start += ROWS_PER_DELETE) {
      const chunk = rows.slice(start, start + ROWS_PER_DELETE)
      const keys = chunk.flatMap((row) => table.keyColumns.map((column) => row[column]))
      const rowValues = chunk.map(() => rowValue).join(', ')
      await runner.query(`DELETE FROM ${table.sqlName} WHERE (${key}) IN (VALUES ${rowValues})`, keys)
    }
    return rows
  },

  hasPending: hasPendingRows,

  oldestAgeQuery: (table, column) =>
    `SELECT (julianday('now') - julianday(MIN(${column}))) * 86400 AS age FROM ${table.sqlName}`,

  async commit(runner: QueryRunner): Promise<void> {
    await runner.query('COMMIT')
  },

  async rollback(runner: QueryRunner): Promise<void> {
    await runner.query('ROLLBACK')
  },

  isTransient: (error: unknown) => errorCode(error) === 'SQLITE_BUSY',
})
