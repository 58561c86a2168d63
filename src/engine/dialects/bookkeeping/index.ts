// Picks the bookkeeping SQL module for a data source's database type, and names its tables.
import type {DataSource} from 'typeorm'
import {SignalbusConfigError} from '../../../errors.js'
import type {BookkeepingDialect, BookkeepingTables} from './bookkeeping.js'
import {mysqlBookkeeping} from './mysql.js'
import {postgresBookkeeping} from './postgres.js'
import {sqliteBookkeeping} from './sqlite.js'

const bookkeepingByType: Record<string, (dataSource: DataSource) => BookkeepingDialect> = {
  postgres: postgresBookkeeping,
  mysql: mysqlBookkeeping,
  mariadb: mysqlBookkeeping,
  'better-sqlite3': sqliteBookkeeping,
}

export const ATTEMPTS_TABLE = 'signalbus_attempts'
export const DEAD_LETTERS_TABLE = 'signalbus_dead_letters'

export function bookkeepingFor(dataSource: DataSource): BookkeepingDialect {
  const create = bookkeepingByType[dataSource.options.type]
  if (!create) throw new SignalbusConfigError(`Unsupported database type "${dataSource.options.type}".`)
  return create(dataSource)
}

/**
 * The data source's bookkeeping tables: `<entityPrefix>signalbus_attempts` and `<entityPrefix>signalbus_dead_letters`,
 * in the data source's schema (PostgreSQL) or the connection's database (MySQL), so that apps sharing one database
 * through different prefixes keep separate books.
 */
export function bookkeepingTables(dataSource: DataSource, dialect: BookkeepingDialect): BookkeepingTables {
  const prefix = dataSource.options.entityPrefix ?? ''
  const path = (name: string): string[] => (dialect.qualifier ? [dialect.qualifier, prefix + name] : [prefix + name])
  const sql = (name: string): string => path(name).map((part) => dataSource.driver.escape(part)).join('.')
  return {
    attempts: sql(ATTEMPTS_TABLE),
    deadLetters: sql(DEAD_LETTERS_TABLE),
    attemptsPath: path(ATTEMPTS_TABLE).join('.'),
    deadLettersPath: path(DEAD_LETTERS_TABLE).join('.'),
  }
}

export type {
  BookkeepingDialect,
  BookkeepingTables,
  StoredRow,
  StoredValue,
  TableColumn,
} from './bookkeeping.js'
