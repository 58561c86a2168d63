// MySQL ≥ 8.0.1 and MariaDB ≥ 10.6: SELECT … FOR UPDATE SKIP LOCKED, then delete the claimed rows one
// primary key per statement. A batch `DELETE … IN (…)` makes InnoDB scan and deadlock between parallel
// flushers (see docs); single-row key deletes lock only their record. With `multipleStatements` they go
// in one round trip, otherwise one statement at a time.
import type {DataSource, EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {errorCode, type Dialect} from './dialect.js'

const ER_LOCK_DEADLOCK = 1213
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_CHECKREAD = 1020

export function mysqlDialect(dataSource: DataSource): Dialect {
  // The driver's copy of the options is what its pool was built with.
  const options = dataSource.driver.options as {multipleStatements?: boolean; extra?: {multipleStatements?: boolean}}
  const supportsMultipleStatements = Boolean(options.multipleStatements ?? options.extra?.multipleStatements)

  async function deleteRows(runner: QueryRunner, table: SignalTable, rows: RawRow[]): Promise<void> {
    const condition = table.sqlKeyColumns.map((column) => `${column} = ?`).join(' AND ')
    const statement = `DELETE FROM ${table.sqlName} WHERE ${condition}`
    const keysOf = (row: RawRow): unknown[] => table.keyColumns.map((column) => row[column])
    if (supportsMultipleStatements) {
      await runner.query(rows.map(() => statement).join(';\n'), rows.flatMap(keysOf))
      return
    }
    for (const row of rows) await runner.query(statement, keysOf(row))
  }

  return {
    name: 'mysql',

    async checkServer(runner: QueryRunner): Promise<void> {
      const rows = (await runner.query('SELECT VERSION() AS version')) as Array<{version: string}>
      const version = rows[0]?.version ?? ''
      if (!supportsSkipLocked(version)) {
        throw new DatabaseError(
          `The server ${version} does not support SKIP LOCKED; signalbus needs MySQL 8.0.1 or MariaDB 10.6 or newer.`,
        )
      }
    },

    tableQualifier(metadata: EntityMetadata): string | undefined {
      return metadata.database
    },

    begin: (runner) => runner.startTransaction('READ COMMITTED'),

    async claim(runner: QueryRunner, table: SignalTable, limit: number): Promise<RawRow[]> {
      const key = table.sqlKeyColumns.join(', ')
      const select = `SELECT * FROM ${table.sqlName} ORDER BY ${key} LIMIT ${limit} FOR UPDATE SKIP LOCKED`
      const rows = (await runner.query(select)) as RawRow[]
      if (rows.length > 0) await deleteRows(runner, table, rows)
      return rows
    },

    oldestAgeQuery: (table, column) =>
      `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(${column}), CURRENT_TIMESTAMP(6)) / 1000000 AS age FROM ${table.sqlName}`,

    commit: (runner) => runner.commitTransaction(),
    rollback: (runner) => runner.rollbackTransaction(),

    isTransient(error: unknown): boolean {
      const code = errorCode(error)
      return code === ER_LOCK_DEADLOCK || code === ER_CHECKREAD || code === ER_LOCK_WAIT_TIMEOUT
    },
  }
}

function supportsSkipLocked(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number)
  if (/mariadb/i.test(version)) return major > 10 || (major === 10 && minor >= 6)
  return major > 8 || (major === 8 && (minor > 0 || patch >= 1))
}
