// What the flush engine needs from a database; each supported database implements it in one module.
import type {DataSource, EntityMetadata, QueryRunner} from 'typeorm'
import type {RawRow, SignalTable} from '../signal-table.js'

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
   * for good only when the caller commits.
   */
  claim(runner: QueryRunner, table: SignalTable, limit: number): Promise<RawRow[]>
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

/** Creates the dialect for a data source; holds per-data-source state such as capability flags. */
export type DialectFactory = (dataSource: DataSource) => Dialect

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
