// SQLite (better-sqlite3): a single writer, so BEGIN IMMEDIATE takes the write lock up front and a
// plain SELECT then DELETE is a safe claim.
import type {QueryRunner} from 'typeorm'
import type {KeyValues, RawRow, SignalTable} from '../signal-table.js'
import {isOrdered, unbrokenRuns} from '../ordering.js'
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
    if (isOrdered(table) && (filter?.exclude?.length ?? 0) > 0) {
      const heldBack = heldBackCondition(table, filter!.exclude!)
      condition.sql = `${condition.sql} AND ${heldBack.sql}`
      condition.parameters.push(...heldBack.parameters)
    }
    const where = condition.sql ? ` WHERE ${condition.sql}` : ''
    const select = `SELECT * FROM ${table.sqlName}${where} ORDER BY ${key} LIMIT ?`
    const selected = (await runner.query(select, [...condition.parameters, limit])) as RawRow[]
    const rows = isOrdered(table) && hasFilter(filter) && selected.length > 0 ? await unbrokenByFilter(runner, table, selected) : selected
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

/**
 * For an ordered model: no row at or after an excluded row of its ordering key (a failing signal holds back its key's
 * later rows), so that a burst is filled with rows that can go. One primary-key probe per excluded key and row.
 */
function heldBackCondition(table: SignalTable, exclude: readonly KeyValues[]): {sql: string; parameters: unknown[]} {
  const composite = table.sqlKeyColumns.length > 1
  const inner = (columns: string[]): string => (composite ? `(${columns.join(', ')})` : columns[0]!)
  const lower = inner(table.sqlKeyColumns.map((column) => `l.${column}`))
  const outer = inner(table.sqlKeyColumns.map((column) => `${table.sqlName}.${column}`))
  const sameKey = table.sqlOrderingColumns.map((column) => `l.${column} = ${table.sqlName}.${column}`).join(' AND ')
  const one = composite ? `(${table.sqlKeyColumns.map(() => '?').join(', ')})` : '?'
  const list = composite ? `(VALUES ${exclude.map(() => one).join(', ')})` : `(${exclude.map(() => one).join(', ')})`
  return {
    sql: `NOT EXISTS (SELECT 1 FROM ${table.sqlName} AS l WHERE ${lower} IN ${list} AND ${sameKey} AND ${lower} <= ${outer})`,
    parameters: exclude.flat(),
  }
}

/**
 * An ordered model's claim with a filter keeps of the selected rows only each ordering key's unbroken run from its
 * lowest pending row: a row the filter left out (a failing signal, or one outside the keys being narrowed) holds back
 * the later rows of its key. One writer, so the rows up to the last selected one are all there is to look at.
 */
async function unbrokenByFilter(runner: QueryRunner, table: SignalTable, selected: RawRow[]): Promise<RawRow[]> {
  const key = table.sqlKeyColumns.join(', ')
  const composite = table.sqlKeyColumns.length > 1
  const last = selected.at(-1)!
  const upTo = composite ? `(${key}) <= (${table.keyColumns.map(() => '?').join(', ')})` : `${key} <= ?`
  const listed = (await runner.query(
    `SELECT ${key}, ${table.sqlOrderingColumns.join(', ')} FROM ${table.sqlName} WHERE ${upTo} ORDER BY ${key}`,
    table.keyColumns.map((column) => last[column]),
  )) as RawRow[]
  return unbrokenRuns(table, listed, selected)
}
