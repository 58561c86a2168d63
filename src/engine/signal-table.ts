// A signal model's table as the engine sees it: quoted names, primary key, and rows made into entities.
import type {DataSource, EntityMetadata} from 'typeorm'

export type RawRow = Record<string, unknown>

export interface SignalTable {
  /** The quoted, qualified table name, ready for SQL. */
  readonly sqlName: string
  /** The table's name for messages (schema.table). */
  readonly displayName: string
  /** Quoted primary-key column names, in key order. */
  readonly sqlKeyColumns: string[]
  /** Primary-key column names as they appear in raw rows. */
  readonly keyColumns: string[]
  /** Quoted column name of a `@CreateDateColumn`, if the entity has one. */
  readonly sqlCreatedAtColumn: string | undefined
}

export function describeTable(dataSource: DataSource, metadata: EntityMetadata, qualifier: string | undefined): SignalTable {
  const escape = (name: string): string => dataSource.driver.escape(name)
  const parts = qualifier ? [qualifier, metadata.tableName] : [metadata.tableName]
  const keyColumns = metadata.primaryColumns.map((column) => column.databaseName)
  const createdAt = metadata.createDateColumn
  return {
    sqlName: parts.map(escape).join('.'),
    displayName: parts.join('.'),
    sqlKeyColumns: keyColumns.map(escape),
    keyColumns,
    sqlCreatedAtColumn: createdAt ? escape(createdAt.databaseName) : undefined,
  }
}

/**
 * Builds an entity instance from a raw row the way TypeORM hydrates one: column→property mapping,
 * driver type conversion and column transformers. Relations are not loaded.
 */
export function entityFromRow(dataSource: DataSource, metadata: EntityMetadata, row: RawRow): object {
  const entity = metadata.create() as object
  for (const column of metadata.columns) {
    if (column.relationMetadata || column.isVirtual) continue
    const value = row[column.databaseName]
    if (value === undefined) continue
    column.setEntityValue(entity, dataSource.driver.prepareHydratedValue(value, column))
  }
  return entity
}
