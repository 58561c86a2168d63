// MySQL ≥ 8.0.1 and MariaDB ≥ 10.6: SELECT … FOR UPDATE SKIP LOCKED, then delete the claimed rows one
// primary key per statement. A batch `DELETE … IN (…)` makes InnoDB scan and deadlock between parallel
// flushers (see docs); single-row key deletes lock only their record. A claim is two round trips (begin +
// select, then all the deletes) on MariaDB, and on MySQL with `multipleStatements`; otherwise one per statement.
import type {DataSource, EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {errorCode, hasPendingRows, hasFilter, keyFilterCondition, sqlLimit, type ClaimFilter, type Dialect, type KeyConditionSyntax} from './dialect.js'

const ER_LOCK_DEADLOCK = 1213
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_CHECKREAD = 1020

/** READ COMMITTED: under REPEATABLE READ the SKIP LOCKED scan also locks the gap where the application inserts. */
const BEGIN = ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION']

const mysqlKeySyntax: KeyConditionSyntax = {placeholder: () => '?', rowList: (rows) => `(${rows.join(', ')})`}

export function mysqlDialect(dataSource: DataSource): Dialect {
  // The driver's copy of the options is what its pool was built with.
  const options = dataSource.driver.options as {multipleStatements?: boolean; extra?: {multipleStatements?: boolean}}
  const supportsMultipleStatements = Boolean(options.multipleStatements ?? options.extra?.multipleStatements)

  /** Set by checkServer, which the engine runs before the first claim. */
  let serverIsMariadb = false

  /**
   * MariaDB runs the deletes as one compound statement (BEGIN NOT ATOMIC … END): one round trip and a single
   * reply instead of one reply per row, which costs the server about half and the client a seventh of the
   * time, while each DELETE inside still locks only its own record. MySQL has compound statements only in
   * stored programs: there they go as several statements in one round trip, or one by one.
   */
  async function deleteRows(runner: QueryRunner, table: SignalTable, rows: RawRow[]): Promise<void> {
    const condition = table.sqlKeyColumns.map((column) => `${column} = ?`).join(' AND ')
    const statement = `DELETE FROM ${table.sqlName} WHERE ${condition}`
    const keysOf = (row: RawRow): unknown[] => table.keyColumns.map((column) => row[column])
    if (serverIsMariadb) {
      await runner.query(`BEGIN NOT ATOMIC\n${rows.map(() => `${statement};\n`).join('')}END`, rows.flatMap(keysOf))
    } else if (supportsMultipleStatements) {
      await runner.query(rows.map(() => statement).join(';\n'), rows.flatMap(keysOf))
    } else {
      for (const row of rows) await runner.query(statement, keysOf(row))
    }
  }

  return {
    name: 'mysql',
    overlapsBursts: true,

    async checkServer(runner: QueryRunner): Promise<void> {
      const rows = (await runner.query('SELECT VERSION() AS version')) as Array<{version: string}>
      const version = rows[0]?.version ?? ''
      serverIsMariadb = isMariadb(version)
      if (!supportsSkipLocked(version)) {
        throw new DatabaseError(
          `The server ${version} does not support SKIP LOCKED; signalbus needs MySQL 8.0.1 or MariaDB 10.6 or newer.`,
        )
      }
    },

    tableQualifier(metadata: EntityMetadata): string | undefined {
      return metadata.database
    },

    async claim(runner: QueryRunner, table: SignalTable, limit: number, filter?: ClaimFilter): Promise<RawRow[]> {
      const key = table.sqlKeyColumns.join(', ')
      const condition = hasFilter(filter) ? keyFilterCondition(table, filter, mysqlKeySyntax) : {sql: '', parameters: []}
      const where = condition.sql ? ` WHERE ${condition.sql}` : ''
      const select = `SELECT * FROM ${table.sqlName}${where} ORDER BY ${key} LIMIT ${sqlLimit(limit)} FOR UPDATE SKIP LOCKED`
      let rows: RawRow[]
      if (supportsMultipleStatements) {
        const results = (await runner.query(`${BEGIN.join(';\n')};\n${select}`, condition.parameters)) as unknown[]
        rows = results.at(-1) as RawRow[]
      } else {
        for (const statement of BEGIN) await runner.query(statement)
        rows = (await runner.query(select, condition.parameters)) as RawRow[]
      }
      if (rows.length > 0) await deleteRows(runner, table, rows)
      return rows
    },

    hasPending: hasPendingRows,

    oldestAgeQuery: (table, column) =>
      `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(${column}), CURRENT_TIMESTAMP(6)) / 1000000 AS age FROM ${table.sqlName}`,

    async commit(runner: QueryRunner): Promise<void> {
      await runner.query('COMMIT')
    },

    async rollback(runner: QueryRunner): Promise<void> {
      await runner.query('ROLLBACK')
    },

    isTransient(error: unknown): boolean {
      const code = errorCode(error)
      return code === ER_LOCK_DEADLOCK || code === ER_CHECKREAD || code === ER_LOCK_WAIT_TIMEOUT
    },
  }
}

const isMariadb = (version: string): boolean => /mariadb/i.test(version)

function supportsSkipLocked(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number)
  if (isMariadb(version)) return major > 10 || (major === 10 && minor >= 6)
  return major > 8 || (major === 8 && (minor > 0 || patch >= 1))
}
