// Picks the dialect module for a data source's database type.
import type {DataSource, DataSourceOptions} from 'typeorm'
import {SignalbusConfigError} from '../../errors.js'
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

/** Pool options a dialect needs (MySQL: several key deletes in one round trip). */
const requiredConnectionOptions: Record<string, Record<string, unknown>> = {
  mysql: {multipleStatements: true},
  mariadb: {multipleStatements: true},
}

/** Pool options used where the user set none, so that a one-shot run fails fast on an unreachable server. */
const defaultConnectionOptions: Record<string, Record<string, unknown>> = {
  postgres: {connectTimeoutMS: 10_000},
}

/** The options to set on a data source before initializing it for flushing. */
export function connectionOptionsFor(options: DataSourceOptions): Record<string, unknown> {
  const defaults = Object.entries(defaultConnectionOptions[options.type] ?? {}).filter(
    ([name]) => (options as unknown as Record<string, unknown>)[name] === undefined,
  )
  return {...Object.fromEntries(defaults), ...requiredConnectionOptions[options.type]}
}

export const SUPPORTED_DATABASE_TYPES = Object.keys(dialectsByType)

export function dialectFor(dataSource: DataSource): Dialect {
  const type = dataSource.options.type
  const create = dialectsByType[type]
  if (!create) {
    throw new SignalbusConfigError(
      `Unsupported database type "${type}"; signalbus supports ${SUPPORTED_DATABASE_TYPES.join(', ')}.`,
    )
  }
  return create(dataSource)
}

export type {ClaimFilter, Dialect} from './dialect.js'
