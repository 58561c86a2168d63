// PostgreSQL: one round trip per burst — DELETE … WHERE key IN (SELECT … FOR UPDATE SKIP LOCKED) RETURNING *.
import type {EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {errorCode, type Dialect} from './dialect.js'

const SERIALIZATION_FAILURE = '40001'
const DEADLOCK_DETECTED = '40P01'
const MINIMUM_SERVER_VERSION = 90500

export const postgresDialect = (): Dialect => ({
  name: 'postgres',

  async checkServer(runner: QueryRunner): Promise<void> {
    const rows = (await runner.query('SHOW server_version_num')) as Array<{server_version_num: string}>
    const version = Number(rows[0]?.server_version_num)
    if (version < MINIMUM_SERVER_VERSION) {
      throw new DatabaseError(`PostgreSQL ${version} does not support SKIP LOCKED; signalbus needs 9.5 or newer.`)
    }
  },

  tableQualifier(metadata: EntityMetadata): string | undefined {
    return metadata.schema
  },

  begin: (runner) => runner.startTransaction('READ COMMITTED'),

  async claim(runner: QueryRunner, table: SignalTable, limit: number): Promise<RawRow[]> {
    const key = table.sqlKeyColumns.join(', ')
    const sql =
      `DELETE FROM ${table.sqlName} WHERE (${key}) IN ` +
      `(SELECT ${key} FROM ${table.sqlName} ORDER BY ${key} LIMIT $1 FOR UPDATE SKIP LOCKED) RETURNING *`
    const result = await runner.query(sql, [limit], true)
    return result.records as RawRow[]
  },

  oldestAgeQuery: (table, column) =>
    `SELECT EXTRACT(EPOCH FROM (CURRENT_TIMESTAMP - MIN(${column})::timestamptz)) AS age FROM ${table.sqlName}`,

  commit: (runner) => runner.commitTransaction(),
  rollback: (runner) => runner.rollbackTransaction(),

  isTransient(error: unknown): boolean {
    const code = errorCode(error)
    return code === SERIALIZATION_FAILURE || code === DEADLOCK_DETECTED
  },
})
