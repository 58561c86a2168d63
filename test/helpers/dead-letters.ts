// What the dead-letter tests share: RichSignal rows with exact values, exact snapshots of a table's rows written by
// the database itself, failures as the engine reports them, and the bookkeeping tables of a test's prefix.
import type {DataSource, EntityTarget, ObjectLiteral} from 'typeorm'
import {SignalBus, type SignalFailure} from '../../src/index.js'
import {dialectFor} from '../../src/engine/dialects/index.js'
import {describeTable, type RawRow} from '../../src/engine/signal-table.js'
import type {DialectName} from '../fixtures/signals/data-sources.js'

export const ATTEMPTS = 'signalbus_attempts'
export const DEAD_LETTERS = 'signalbus_dead_letters'

const ZONED: Record<DialectName, string> = {
  postgres: '2026-12-01 10:11:12.654321+02',
  mariadb: '2026-12-01 10:11:12.654321',
  sqlite: '2026-12-01T10:11:12.654321Z',
}

/** Values that lose something when they pass through JavaScript: microseconds, 2^53 + 1, 20-digit decimals, bytes. */
export function richRow(dialect: DialectName, tenant: string, seq: number): unknown[] {
  return [
    tenant,
    seq,
    `hello-${seq}`,
    `{"b": 1,   "a": [1, 2.50, "ü"], "n": null}`,
    '2026-12-01 10:11:12.123456',
    ZONED[dialect],
    Buffer.from([0, 1, 255, 0x27, 0x5c, seq % 256]),
    '9007199254740993',
    dialect === 'sqlite' ? 0.1 : '12345678901234.123456',
    null,
  ]
}

const RICH_COLUMNS = ['tenant', 'seq', 'payload', 'doc', 'happened_at', 'zoned_at', 'blob_value', 'big_value', 'amount', 'note']

export function sqlTable(dataSource: DataSource, entity: EntityTarget<ObjectLiteral>): string {
  return dataSource.getMetadata(entity).tablePath.split('.').map((part) => dataSource.driver.escape(part)).join('.')
}

export async function insertRichRows(
  dataSource: DataSource,
  dialect: DialectName,
  entity: EntityTarget<ObjectLiteral>,
  keys: Array<[string, number]>,
): Promise<void> {
  const placeholders = RICH_COLUMNS.map((_, index) => (dialect === 'postgres' ? `$${index + 1}` : '?')).join(', ')
  const columns = RICH_COLUMNS.map((column) => dataSource.driver.escape(column)).join(', ')
  for (const [tenant, seq] of keys) {
    await dataSource.query(`INSERT INTO ${sqlTable(dataSource, entity)} (${columns}) VALUES (${placeholders})`, richRow(dialect, tenant, seq))
  }
}

/**
 * Every row of the table as the database itself writes it (PostgreSQL row text, QUOTE() per column elsewhere),
 * ordered by primary key: what "restored exactly" is compared with, independent of signalbus's own capture.
 */
export async function rowSnapshot(dataSource: DataSource, dialect: DialectName, entity: EntityTarget<ObjectLiteral>): Promise<unknown[]> {
  const metadata = dataSource.getMetadata(entity)
  const escape = (name: string): string => dataSource.driver.escape(name)
  const order = metadata.primaryColumns.map((column) => escape(column.databaseName)).join(', ')
  const table = sqlTable(dataSource, entity)
  if (dialect === 'postgres') {
    const rows = (await dataSource.query(`SELECT x::text AS r FROM ${table} x ORDER BY ${order}`)) as Array<{r: string}>
    return rows.map((row) => row.r)
  }
  const quoted = metadata.columns.map((column) => `QUOTE(${escape(column.databaseName)}) AS ${escape(column.databaseName)}`)
  const rows = (await dataSource.query(`SELECT ${quoted.join(', ')} FROM ${table} ORDER BY ${order}`)) as RawRow[]
  return rows.map((row) => Object.fromEntries(Object.entries(row).map(([name, value]) => [name, Buffer.isBuffer(value) ? value.toString('hex') : value])))
}

/** The failure the engine would report for the row with these key values (read raw, as a claim returns it). */
export async function failureOf(
  signalbus: SignalBus,
  entity: EntityTarget<ObjectLiteral>,
  key: Record<string, unknown>,
  options: {maxAttempts: number; error?: unknown},
): Promise<SignalFailure> {
  const dataSource = signalbus.dataSource
  const metadata = dataSource.getMetadata(entity)
  const model = signalbus.getSignalModels().find((candidate) => candidate.metadata === metadata)!
  const table = describeTable(dataSource, metadata, dialectFor(dataSource).tableQualifier(metadata))
  const parameter = (index: number): string => (dataSource.options.type === 'postgres' ? `$${index + 1}` : '?')
  const condition = Object.keys(key).map((column, index) => `${dataSource.driver.escape(column)} = ${parameter(index)}`).join(' AND ')
  const rows = (await dataSource.query(`SELECT * FROM ${table.sqlName} WHERE ${condition}`, Object.values(key))) as RawRow[]
  if (rows.length !== 1) throw new Error(`no row ${JSON.stringify(key)}`)
  return {model, table, row: rows[0]!, error: options.error ?? new Error('message size 2097152 is larger than 1048576'), maxAttempts: options.maxAttempts}
}

/** The bookkeeping tables of the data source's prefix. */
export function bookkeepingNames(dataSource: DataSource): {attempts: string; deadLetters: string} {
  const prefix = dataSource.options.entityPrefix ?? ''
  return {attempts: `${prefix}${ATTEMPTS}`, deadLetters: `${prefix}${DEAD_LETTERS}`}
}

export async function dropBookkeeping(dataSource: DataSource): Promise<void> {
  if (!dataSource.isInitialized) return
  for (const name of Object.values(bookkeepingNames(dataSource))) {
    await dataSource.query(`DROP TABLE IF EXISTS ${dataSource.driver.escape(name)}`)
  }
}

export async function hasTable(dataSource: DataSource, name: string): Promise<boolean> {
  const runner = dataSource.createQueryRunner()
  try {
    return await runner.hasTable(name)
  } finally {
    await runner.release()
  }
}

/** Attempt rows as (key → attempts). */
export async function attemptRows(dataSource: DataSource): Promise<Record<string, number>> {
  const escape = (name: string): string => dataSource.driver.escape(name)
  const rows = (await dataSource.query(
    `SELECT ${escape('signal_key')} AS k, ${escape('attempts')} AS n FROM ${escape(bookkeepingNames(dataSource).attempts)}`,
  )) as Array<{k: string; n: number | string}>
  return Object.fromEntries(rows.map((row) => [row.k, Number(row.n)]))
}
