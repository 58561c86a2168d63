// MySQL and MariaDB bookkeeping SQL. DDL commits implicitly there, so setup runs statement by statement, each one
// idempotent (IF NOT EXISTS). Rows are captured as each value's text (CAST … AS CHAR; bytes as HEX) in a session
// switched to UTC for the transaction, so TIMESTAMP columns come back to the microsecond whatever the time zones.
import type {DataSource, QueryRunner} from 'typeorm'
import {captureAlias, isHex, type BookkeepingDialect, type StoredRow} from './bookkeeping.js'
import {createTableStatements, type BookkeepingColumnTypes} from './statements.js'

const BINARY_TYPES = new Set([
  'binary', 'varbinary', 'tinyblob', 'blob', 'mediumblob', 'longblob', 'bit',
  'geometry', 'point', 'linestring', 'polygon', 'multipoint', 'multilinestring', 'multipolygon', 'geometrycollection',
])

interface ColumnRow {
  name: string
  type: string
  dataType: string
  generated: number | string
}

const COLUMNS_SQL = `SELECT COLUMN_NAME AS name, COLUMN_TYPE AS type, DATA_TYPE AS dataType,
  COALESCE(GENERATION_EXPRESSION, '') <> '' AS generated
FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`

const isBinary = (type: string): boolean => BINARY_TYPES.has(type.split(/[ (]/)[0]!.toLowerCase())

/** utf8mb4_bin: keys compare exactly (case and accents matter); (255 + 500) × 4 bytes fits InnoDB's key limit. */
const COLUMN_TYPES: BookkeepingColumnTypes = {
  model: 'VARCHAR(255)',
  key: 'VARCHAR(500)',
  integer: 'INT',
  time: 'DATETIME(6)',
  text: 'TEXT',
  row: 'LONGTEXT',
  tableOptions: 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
}

export function mysqlBookkeeping(dataSource: DataSource): BookkeepingDialect {
  const escape = (name: string): string => dataSource.driver.escape(name)

  /** Back to the session's own time zone, which begin() saved. */
  const restoreTimeZone = (runner: QueryRunner): Promise<unknown> => runner.query('SET time_zone = @signalbus_time_zone')

  return {
    transactionalDdl: false,
    qualifier: undefined,

    createTables: (tables) => createTableStatements(escape, tables, COLUMN_TYPES),

    parameter: () => '?',
    now: 'UTC_TIMESTAMP(6)',
    isoTime: (column) => `DATE_FORMAT(${column}, '%Y-%m-%dT%H:%i:%s.%fZ')`,
    lockSkipLocked: 'FOR UPDATE SKIP LOCKED',
    lockWaiting: 'FOR UPDATE',

    async addAttempt(runner, tables, {model, key, error}) {
      const [attempts, lastFailedAt, lastError] = ['attempts', 'last_failed_at', 'last_error'].map(escape)
      await runner.query(
        `INSERT INTO ${tables.attempts} (${escape('model')}, ${escape('signal_key')}, ${attempts}, ${escape('first_failed_at')}, ${lastFailedAt}, ${lastError})
VALUES (?, ?, 1, UTC_TIMESTAMP(6), UTC_TIMESTAMP(6), ?)
ON DUPLICATE KEY UPDATE ${attempts} = ${attempts} + 1, ${lastFailedAt} = UTC_TIMESTAMP(6), ${lastError} = ?`,
        [model, key, error, error],
      )
      const rows = (await runner.query(
        `SELECT ${attempts} AS attempts FROM ${tables.attempts} WHERE ${escape('model')} = ? AND ${escape('signal_key')} = ?`,
        [model, key],
      )) as Array<{attempts: number}>
      return Number(rows[0]?.attempts)
    },

    async begin(runner) {
      await runner.query('SET @signalbus_time_zone = @@session.time_zone')
      await runner.query(`SET time_zone = '+00:00'`)
      try {
        await runner.query('SET TRANSACTION ISOLATION LEVEL READ COMMITTED')
        await runner.query('START TRANSACTION')
      } catch (error) {
        // The connection goes back to the pool: never in UTC when its owner did not ask for it.
        await restoreTimeZone(runner).catch(() => undefined)
        throw error
      }
    },
    async commit(runner) {
      await runner.query('COMMIT')
      await restoreTimeZone(runner)
    },
    async rollback(runner) {
      try {
        await runner.query('ROLLBACK')
      } finally {
        await restoreTimeZone(runner)
      }
    },

    async columns(runner, table) {
      const [schema, name] = table.displayName.includes('.') ? table.displayName.split('.') : [null, table.displayName]
      const rows = (await runner.query(COLUMNS_SQL, [schema, name])) as ColumnRow[]
      return rows.map((row) => ({name: row.name, type: row.type, generated: Number(row.generated) === 1, identityAlways: false}))
    },

    captureExpressions(columns) {
      return columns.map((column, index) => {
        const name = escape(column.name)
        return `${isBinary(column.type) ? `HEX(${name})` : `CAST(${name} AS CHAR)`} AS ${captureAlias(index)}`
      })
    },

    storedRow(columns, result) {
      const row: StoredRow = {}
      columns.forEach((column, index) => {
        const value = result[captureAlias(index)]
        if (value === null || value === undefined) row[column.name] = null
        else if (isBinary(column.type)) row[column.name] = {type: column.type, hex: String(value)}
        else row[column.name] = {type: column.type, text: String(value)}
      })
      return row
    },

    restoreValue(value) {
      if (value === null) return {sql: '?', parameter: null}
      if (isHex(value)) return {sql: 'UNHEX(?)', parameter: value.hex}
      return {sql: '?', parameter: value.text}
    },

    insertOverriding: () => '',
  }
}
