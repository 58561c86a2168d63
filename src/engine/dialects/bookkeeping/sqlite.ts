// SQLite's bookkeeping SQL: one writer (BEGIN IMMEDIATE), so no row locks are needed. Values are captured with
// their storage class (integer as text, so 64-bit values survive JavaScript; blobs as hex) and restored as that class.
import type {DataSource} from 'typeorm'
import {captureAlias, isHex, type BookkeepingDialect, type StoredRow} from './bookkeeping.js'
import {createTableStatements, type BookkeepingColumnTypes} from './statements.js'

interface ColumnRow {
  name: string
  type: string
  hidden: number
}

/** pragma_table_xinfo marks generated columns hidden = 2 (virtual) or 3 (stored). */
const GENERATED = new Set([2, 3])

/** Times are ISO 8601 UTC text, which sorts as time does. */
const COLUMN_TYPES: BookkeepingColumnTypes = {model: 'TEXT', key: 'TEXT', integer: 'INTEGER', time: 'TEXT', text: 'TEXT', row: 'TEXT'}

export function sqliteBookkeeping(dataSource: DataSource): BookkeepingDialect {
  const escape = (name: string): string => dataSource.driver.escape(name)

  return {
    transactionalDdl: true,
    qualifier: undefined,

    createTables: (tables) => createTableStatements(escape, tables, COLUMN_TYPES),

    parameter: () => '?',
    now: `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
    isoTime: (column) => column,
    lockSkipLocked: '',
    lockWaiting: '',

    async addAttempt(runner, tables, {model, key, error}) {
      const [attempts, lastFailedAt, lastError] = ['attempts', 'last_failed_at', 'last_error'].map(escape)
      const now = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`
      const rows = (await runner.query(
        `INSERT INTO ${tables.attempts} (${escape('model')}, ${escape('signal_key')}, ${attempts}, ${escape('first_failed_at')}, ${lastFailedAt}, ${lastError})
VALUES (?, ?, 1, ${now}, ${now}, ?)
ON CONFLICT (${escape('model')}, ${escape('signal_key')}) DO UPDATE SET ${attempts} = ${attempts} + 1,
  ${lastFailedAt} = excluded.${lastFailedAt}, ${lastError} = excluded.${lastError}
RETURNING ${attempts} AS attempts`,
        [model, key, error],
      )) as Array<{attempts: number}>
      return Number(rows[0]?.attempts)
    },

    async begin(runner) {
      await runner.query('BEGIN IMMEDIATE')
    },
    async commit(runner) {
      await runner.query('COMMIT')
    },
    async rollback(runner) {
      await runner.query('ROLLBACK')
    },

    async columns(runner, table) {
      const rows = (await runner.query('SELECT name, type, hidden FROM pragma_table_xinfo(?)', [table.displayName])) as ColumnRow[]
      return rows.map((row) => ({name: row.name, type: row.type, generated: GENERATED.has(Number(row.hidden)), identityAlways: false}))
    },

    captureExpressions(columns) {
      return columns.flatMap((column, index) => {
        const name = escape(column.name)
        return [
          `typeof(${name}) AS ${captureAlias(index, 't')}`,
          `CASE typeof(${name}) WHEN 'blob' THEN hex(${name}) WHEN 'integer' THEN CAST(${name} AS TEXT) ELSE ${name} END AS ${captureAlias(index)}`,
        ]
      })
    },

    storedRow(columns, result) {
      const row: StoredRow = {}
      columns.forEach((column, index) => {
        const storageClass = String(result[captureAlias(index, 't')])
        const value = result[captureAlias(index)]
        if (storageClass === 'null' || value === null || value === undefined) row[column.name] = null
        else if (storageClass === 'blob') row[column.name] = {type: storageClass, hex: String(value)}
        // A real arrives as a JavaScript number; its shortest text form reads back as the same double.
        else row[column.name] = {type: storageClass, text: String(value)}
      })
      return row
    },

    restoreValue(value) {
      if (value === null) return {sql: '?', parameter: null}
      if (isHex(value)) return {sql: '?', parameter: Buffer.from(value.hex, 'hex')}
      if (value.type === 'integer') return {sql: 'CAST(? AS INTEGER)', parameter: value.text}
      if (value.type === 'real') return {sql: '?', parameter: Number(value.text)}
      return {sql: '?', parameter: value.text}
    },

    insertOverriding: () => '',
  }
}
