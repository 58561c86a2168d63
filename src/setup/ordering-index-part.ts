// The setup part of per-key ordering: the recommended index on (ordering key, primary key) of each ordered model's
// table. Ordered claims are correct without it (see docs/how-it-works.md, "Ordering"); with it, finding each key's
// lowest pending row is an index probe instead of a pass over the table. SQLite gets none: one writer claims in
// primary-key order and never looks for heads.
import type {SetupContext, SetupPart} from './parts.js'

/** Identifiers stay within PostgreSQL's 63 bytes and MySQL's 64 characters. */
const MAX_NAME = 60

export function orderingIndexName(tableName: string): string {
  return `${tableName}_signalbus_ordering`.slice(0, MAX_NAME)
}

function orderingIndexStatements(context: SetupContext): string[] {
  const {dataSource, databaseType} = context
  const postgres = databaseType === 'postgres'
  const mysql = databaseType === 'mysql' || databaseType === 'mariadb'
  if (!postgres && !mysql) return []
  const escape = (name: string): string => dataSource.driver.escape(name)
  return context.models
    .filter((model) => model.orderingColumns.length > 0)
    .flatMap((model) => {
      const table = context.tableOf(model)
      const name = orderingIndexName(model.metadata.tableName)
      const columns = [...table.sqlOrderingColumns, ...table.sqlKeyColumns].join(', ')
      if (postgres) return [`CREATE INDEX IF NOT EXISTS ${escape(name)} ON ${table.sqlName} (${columns})`]
      // MySQL 8 has no CREATE INDEX IF NOT EXISTS (MariaDB has): ask information_schema, on both.
      const schema = model.metadata.database === undefined ? 'DATABASE()' : quoteString(model.metadata.database)
      const exists =
        `SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = ${schema} ` +
        `AND table_name = ${quoteString(model.metadata.tableName)} AND index_name = ${quoteString(name)}`
      const create = `CREATE INDEX ${escape(name)} ON ${table.sqlName} (${columns})`
      return [
        `SET @signalbus_ddl = IF((${exists}) = 0, ${quoteString(create)}, 'DO 0')`,
        'PREPARE signalbus_ddl FROM @signalbus_ddl',
        'EXECUTE signalbus_ddl',
        'DEALLOCATE PREPARE signalbus_ddl',
      ]
    })
}

/** A SQL string literal (identifiers and SQL that signalbus itself wrote; quotes and backslashes doubled). */
const quoteString = (text: string): string => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`

export const orderingIndexPart: SetupPart = {
  name: 'ordering-index',
  description: 'PostgreSQL, MySQL/MariaDB: an index on (ordering key, primary key) of each model with signalbusOrderingKey, for cheap ordered claims',
  statements: orderingIndexStatements,
}
