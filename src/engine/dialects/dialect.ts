// What the flush engine needs from a database; each supported database implements it in one module.
import type {DataSource, EntityMetadata, QueryRunner} from 'typeorm'
import type {KeyValues, RawRow, SignalTable} from '../signal-table.js'

export interface Dialect {
  readonly name: string
  /**
   * True when two bursts of one model may be open at once, each in its own transaction on its own connection,
   * so that the engine claims the next burst while the current one is being sent. False for a single writer.
   */
  readonly overlapsBursts: boolean
  /** Throws a DatabaseError when the server cannot claim rows safely (for example too old for SKIP LOCKED). */
  checkServer(runner: QueryRunner): Promise<void>
  /** The schema or database that qualifies the entity's table name, if any. */
  tableQualifier(metadata: EntityMetadata): string | undefined
  /**
   * Begins the burst's transaction (READ COMMITTED where the database has levels), locks up to `limit` pending
   * rows no other transaction holds, oldest key first, and deletes them inside it; returns them. They are gone
   * for good only when the caller commits. The filter narrows the claim to some keys, or leaves some out; rows it
   * names that another transaction holds are skipped like any other.
   */
  claim(runner: QueryRunner, table: SignalTable, limit: number, filter?: ClaimFilter): Promise<RawRow[]>
  /** One round trip, outside any transaction and without locks: is any row there (claimable or held by another flusher)? */
  hasPending(runner: QueryRunner, table: SignalTable): Promise<boolean>
  commit(runner: QueryRunner): Promise<void>
  /** Also called after a failed claim, when the transaction may never have begun (errors there are ignored). */
  rollback(runner: QueryRunner): Promise<void>
  /**
   * SQL that returns one row with `age`: seconds since the smallest value of the creation-time column,
   * measured by the server's clock, so the flusher's time zone does not matter.
   */
  oldestAgeQuery(table: SignalTable, createdAtColumn: string): string
  /** True for errors after which the same claim may simply be tried again (deadlock, serialization). */
  isTransient(error: unknown): boolean
}

/** Which rows a claim may take, besides "not locked by another transaction". */
export interface ClaimFilter {
  /** Only rows with these keys (a failed burst being narrowed down). */
  readonly only?: readonly KeyValues[]
  /** No row with these keys (signals found failing). */
  readonly exclude?: readonly KeyValues[]
}

export const hasFilter = (filter: ClaimFilter | undefined): filter is ClaimFilter =>
  filter?.only !== undefined || (filter?.exclude?.length ?? 0) > 0

export interface KeyConditionSyntax {
  /** The n-th placeholder (1-based): `$n` on PostgreSQL, `?` elsewhere. */
  placeholder(index: number): string
  /** The right-hand side of `(a, b) IN …` for row values: `((…), (…))`, or SQLite's `(VALUES (…), (…))`. */
  rowList(rows: string[]): string
}

/**
 * The WHERE condition (with its parameters, never spliced values) that applies a claim filter: `key IN (…)` and
 * `key NOT IN (…)`, with row values for composite keys. An empty `only` list matches nothing. `firstParameter` is
 * the 1-based index of the first placeholder.
 */
export function keyFilterCondition(
  table: SignalTable,
  filter: ClaimFilter,
  syntax: KeyConditionSyntax,
  firstParameter = 1,
): {sql: string; parameters: unknown[]} {
  const parameters: unknown[] = []
  const composite = table.sqlKeyColumns.length > 1
  const left = composite ? `(${table.sqlKeyColumns.join(', ')})` : table.sqlKeyColumns[0]!
  const list = (keys: readonly KeyValues[]): string => {
    const tuples = keys.map((key) => {
      const marks = key.map((value) => {
        parameters.push(value)
        return syntax.placeholder(firstParameter + parameters.length - 1)
      })
      return composite ? `(${marks.join(', ')})` : marks[0]!
    })
    return composite ? syntax.rowList(tuples) : `(${tuples.join(', ')})`
  }
  const conditions: string[] = []
  if (filter.only !== undefined) conditions.push(filter.only.length === 0 ? '1 = 0' : `${left} IN ${list(filter.only)}`)
  if (filter.exclude !== undefined && filter.exclude.length > 0) conditions.push(`${left} NOT IN ${list(filter.exclude)}`)
  return {sql: conditions.join(' AND '), parameters}
}

/** Creates the dialect for a data source; holds per-data-source state such as capability flags. */
export type DialectFactory = (dataSource: DataSource) => Dialect

/** The connection pool's size as TypeORM and the drivers default it (pg: `max`, mysql2: `connectionLimit`, both 10). */
export function poolSizeOf(dataSource: DataSource): number {
  const options = dataSource.options as {poolSize?: number; extra?: {max?: number; connectionLimit?: number}}
  const size = options.poolSize ?? options.extra?.max ?? options.extra?.connectionLimit ?? 10
  return Number.isInteger(size) && size > 0 ? size : 10
}

/**
 * A burst limit as SQL text, for statements that cannot take it as a parameter (several statements in one
 * round trip). The engine computes it; it is checked anyway, so that nothing but a positive integer is written.
 */
export function sqlLimit(limit: number): string {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`Invalid burst limit ${limit}`)
  return String(limit)
}

/** The same access path as a claim (primary-key order), so that it stays cheap on a table full of dead rows. */
export async function hasPendingRows(runner: QueryRunner, table: SignalTable): Promise<boolean> {
  const key = table.sqlKeyColumns.join(', ')
  const rows = (await runner.query(`SELECT 1 AS found FROM ${table.sqlName} ORDER BY ${key} LIMIT 1`)) as unknown[]
  return rows.length > 0
}

export function errorCode(error: unknown): string | number | undefined {
  const candidate = error as {code?: unknown; errno?: unknown; driverError?: {code?: unknown; errno?: unknown}}
  const found = candidate?.driverError?.errno ?? candidate?.driverError?.code ?? candidate?.errno ?? candidate?.code
  return typeof found === 'string' || typeof found === 'number' ? found : undefined
}

/** The older mysql package's codes for a query sent on a connection that a fatal error already closed. */
const AFTER_FATAL_ERROR_CODES = new Set(['PROTOCOL_CONNECTION_LOST', 'PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR', 'PROTOCOL_ENQUEUE_AFTER_DESTROY'])

/**
 * A MySQL client error that means the connection is gone. mysql2 also makes TypeORM release the query runner;
 * the older mysql package does not, and then says only "Cannot enqueue Query after fatal error".
 */
export function isFatalConnectionError(error: unknown): boolean {
  const candidate = error as {fatal?: unknown; driverError?: {fatal?: unknown}}
  const code = errorCode(error)
  return (candidate?.driverError?.fatal ?? candidate?.fatal) === true || (typeof code === 'string' && AFTER_FATAL_ERROR_CODES.has(code))
}
