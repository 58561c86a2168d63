// Picks the dialect module for a data source's database type.
import type {DataSource} from 'typeorm'
import {DatabaseError} from '../../errors.js'
import type {Dialect, DialectFactory} from './dialect.js'
import {mysqlDialect} from './mysql.js'
import {postgresDialect} from './postgres.js'
import {sqliteDialect} from './sqlite.js'

const dialectsByType: Record<string, DialectFactory> = {
  postgres: postgresDialect,
  mysql: mysqlDialect,
  mariadb: mysqlDialect,
  'better-sqlite3': sqliteDialect,
}

/** Connection options a dialect needs from the pool (MySQL: several key deletes in one round trip). */
const connectionOptionsByType: Record<string, Record<string, unknown>> = {
  mysql: {multipleStatements: true},
  mariadb: {multipleStatements: true},
}

export function connectionOptionsFor(type: string): Record<string, unknown> {
  return connectionOptionsByType[type] ?? {}
}

export const SUPPORTED_DATABASE_TYPES = Object.keys(dialectsByType)

export function dialectFor(dataSource: DataSource): Dialect {
  const type = dataSource.options.type
  const create = dialectsByType[type]
  if (!create) {
    throw new DatabaseError(
      `Unsupported database type "${type}"; signalbus supports ${SUPPORTED_DATABASE_TYPES.join(', ')}.`,
    )
  }
  return create(dataSource)
}

export type {Dialect} from './dialect.js'
