// PostgreSQL's bookkeeping SQL: transactional DDL, ON CONFLICT upserts, rows captured with each column's own text
// output (bytea as hex) and restored through the column types' input functions, so every value comes back exact.
import type {DataSource, QueryRunner} from 'typeorm'
import type {SignalTable} from '../../signal-table.js'
import {captureAlias, isHex, type BookkeepingDialect, type StoredRow} from './bookkeeping.js'
import {createTableStatements, type BookkeepingColumnTypes} from './statements.js'

interface ColumnRow {
  name: string
  type: string
  generated: boolean
  identity_always: boolean
}

/**
 * attgenerated (PostgreSQL 12) and attidentity (10) are read through to_jsonb so that older servers, which lack
 * the columns, simply answer "no".
 */
const COLUMNS_SQL = `SELECT a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type,
  COALESCE(to_jsonb(a) ->> 'attgenerated', '') <> '' AS generated,
  COALESCE(to_jsonb(a) ->> 'attidentity', '') = 'a' AS identity_always
FROM pg_attribute a WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum`

const COLUMN_TYPES: BookkeepingColumnTypes = {
  model: 'VARCHAR(255)',
  key: 'VARCHAR(500)',
  integer: 'INTEGER',
  time: 'TIMESTAMPTZ',
  text: 'TEXT',
  row: 'TEXT',
}

export function postgresBookkeeping(dataSource: DataSource): BookkeepingDialect {
  const escape = (name: string): string => dataSource.driver.escape(name)

  return {
    transactionalDdl: true,
    qualifier: (dataSource.options as {schema?: string}).schema || undefined,

    createTables: (tables) => createTableStatements(escape, tables, COLUMN_TYPES),

    parameter: (index) => `$${index}`,
    now: 'CURRENT_TIMESTAMP',
    isoTime: (column) => `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`,
    lockSkipLocked: 'FOR UPDATE SKIP LOCKED',
    lockWaiting: 'FOR UPDATE',

    async addAttempt(runner, tables, {model, key, error}) {
      const attempts = escape('attempts')
      const sql = `INSERT INTO ${tables.attempts} (${escape('model')}, ${escape('signal_key')}, ${attempts}, ${escape('first_failed_at')}, ${escape('last_failed_at')}, ${escape('last_error')})
VALUES ($1, $2, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, $3)
ON CONFLICT (${escape('model')}, ${escape('signal_key')}) DO UPDATE SET ${attempts} = ${tables.attempts}.${attempts} + 1,
  ${escape('last_failed_at')} = EXCLUDED.${escape('last_failed_at')}, ${escape('last_error')} = EXCLUDED.${escape('last_error')}
RETURNING ${attempts} AS attempts`
      const rows = (await runner.query(sql, [model, key, error])) as Array<{attempts: number}>
      return Number(rows[0]?.attempts)
    },

    async begin(runner: QueryRunner) {
      await runner.query('BEGIN ISOLATION LEVEL READ COMMITTED')
    },
    async commit(runner: QueryRunner) {
      await runner.query('COMMIT')
    },
    async rollback(runner: QueryRunner) {
      await runner.query('ROLLBACK')
    },

    async columns(runner, table: SignalTable) {
      const rows = (await runner.query(COLUMNS_SQL, [table.sqlName])) as ColumnRow[]
      return rows.map((row) => ({name: row.name, type: row.type, generated: row.generated, identityAlways: row.identity_always}))
    },

    captureExpressions(columns) {
      return columns.map((column, index) => {
        const name = escape(column.name)
        const value = column.type === 'bytea' ? `encode(${name}, 'hex')` : `${name}::text`
        return `${value} AS ${captureAlias(index)}`
      })
    },

    storedRow(columns, result) {
      const row: StoredRow = {}
      columns.forEach((column, index) => {
        const value = result[captureAlias(index)]
        if (value === null || value === undefined) row[column.name] = null
        else if (column.type === 'bytea') row[column.name] = {type: column.type, hex: String(value)}
        else row[column.name] = {type: column.type, text: String(value)}
      })
      return row
    },

    restoreValue(value, index) {
      if (value === null) return {sql: `$${index}`, parameter: null}
      if (isHex(value)) return {sql: `decode($${index}, 'hex')`, parameter: value.hex}
      // An untyped text parameter: the server reads it with the column type's own input function.
      return {sql: `$${index}`, parameter: value.text}
    },

    insertOverriding: (columns) => (columns.some((column) => column.identityAlways) ? 'OVERRIDING SYSTEM VALUE' : ''),
  }
}
