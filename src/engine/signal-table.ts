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
  /** The model's ordering key (`signalbusOrderingKey`) as column names in raw rows; empty for an unordered model. */
  readonly orderingColumns: string[]
  /** The same, quoted. */
  readonly sqlOrderingColumns: string[]
}

export function describeTable(
  dataSource: DataSource,
  metadata: EntityMetadata,
  qualifier: string | undefined,
  orderingColumns: readonly string[] = [],
): SignalTable {
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
    orderingColumns: [...orderingColumns],
    sqlOrderingColumns: orderingColumns.map(escape),
  }
}

export type EntityBuilder = (row: RawRow) => object

/**
 * Compiles, once per model, how an entity instance is built from a raw row the way TypeORM hydrates one:
 * column→property mapping, driver type conversion and column transformers. Relations are not loaded. Per row
 * only the instance is created and each column's value converted and set; the column list, the embedded-or-not
 * decision and the property names are worked out here, not for every row.
 */
export function entityBuilder(dataSource: DataSource, metadata: EntityMetadata): EntityBuilder {
  const driver = dataSource.driver
  const setters = metadata.columns
    .filter((column) => !column.relationMetadata && !column.isVirtual)
    .map((column): ((entity: Record<string, unknown>, row: RawRow) => void) => {
      const {databaseName, propertyName} = column
      if (column.embeddedMetadata) {
        return (entity, row) => {
          const value = row[databaseName]
          if (value !== undefined) column.setEntityValue(entity, driver.prepareHydratedValue(value, column))
        }
      }
      return (entity, row) => {
        const value = row[databaseName]
        if (value !== undefined) entity[propertyName] = driver.prepareHydratedValue(value, column)
      }
    })
  return (row) => {
    const entity = metadata.create() as Record<string, unknown>
    for (const set of setters) set(entity, row)
    return entity
  }
}

/** A row's primary-key values, in key order (what the dialects' claims take to include or exclude rows). */
export type KeyValues = readonly unknown[]

export function keyOf(table: SignalTable, row: RawRow): KeyValues {
  return table.keyColumns.map((column) => row[column])
}

/** The row's key for messages: `id=250`, or `shard=1,seq=7` for a composite key. */
export function describeKey(table: SignalTable, row: RawRow): string {
  return table.keyColumns.map((column) => `${column}=${describeValue(row[column])}`).join(',')
}

function describeValue(value: unknown): string {
  if (value instanceof Date) return value.toISOString()
  if (Buffer.isBuffer(value)) return `0x${value.toString('hex')}`
  return String(value)
}
