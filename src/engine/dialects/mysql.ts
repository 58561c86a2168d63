// MySQL ≥ 8.0.1 and MariaDB ≥ 10.6: SELECT … FOR UPDATE SKIP LOCKED, then delete the claimed rows one
// primary key per statement. A batch `DELETE … IN (…)` makes InnoDB scan and deadlock between parallel
// flushers (see docs); single-row key deletes lock only their record. A claim is two round trips (begin +
// select, then all the deletes) on MariaDB, and on MySQL with `multipleStatements`; otherwise one per statement.
// An ordered model's claim leases keys first (see orderedClaim and ../ordering.ts): three more round trips.
import type {DataSource, EntityMetadata, QueryRunner} from 'typeorm'
import type {KeyValues, RawRow, SignalTable} from '../signal-table.js'
import {DatabaseError} from '../../errors.js'
import {errorCode, hasPendingRows, hasFilter, keyFilterCondition, sqlLimit, type ClaimFilter, type Dialect, type KeyConditionSyntax} from './dialect.js'
import {filterTest, headsToClaim, isOrdered, recordOrderedClaim, unbrokenRuns, uniqueOrderingKeys} from '../ordering.js'

const ER_LOCK_DEADLOCK = 1213
const ER_LOCK_WAIT_TIMEOUT = 1205
const ER_CHECKREAD = 1020

/** READ COMMITTED: under REPEATABLE READ the SKIP LOCKED scan also locks the gap where the application inserts. */
const BEGIN = ['SET TRANSACTION ISOLATION LEVEL READ COMMITTED', 'START TRANSACTION']

const mysqlKeySyntax: KeyConditionSyntax = {placeholder: () => '?', rowList: (rows) => `(${rows.join(', ')})`}

export function mysqlDialect(dataSource: DataSource): Dialect {
  // The driver's copy of the options is what its pool was built with.
  const options = dataSource.driver.options as {multipleStatements?: boolean; extra?: {multipleStatements?: boolean}}
  const supportsMultipleStatements = Boolean(options.multipleStatements ?? options.extra?.multipleStatements)

  /** Set by checkServer, which the engine runs before the first claim. */
  let serverIsMariadb = false

  /**
   * MariaDB runs the deletes as one compound statement (BEGIN NOT ATOMIC … END): one round trip and a single
   * reply instead of one reply per row, which costs the server about half and the client a seventh of the
   * time, while each DELETE inside still locks only its own record. MySQL has compound statements only in
   * stored programs: there they go as several statements in one round trip, or one by one.
   */
  async function deleteRows(runner: QueryRunner, table: SignalTable, rows: RawRow[]): Promise<void> {
    const condition = table.sqlKeyColumns.map((column) => `${column} = ?`).join(' AND ')
    const statement = `DELETE FROM ${table.sqlName} WHERE ${condition}`
    const keysOf = (row: RawRow): unknown[] => table.keyColumns.map((column) => row[column])
    if (serverIsMariadb) {
      await runner.query(`BEGIN NOT ATOMIC\n${rows.map(() => `${statement};\n`).join('')}END`, rows.flatMap(keysOf))
    } else if (supportsMultipleStatements) {
      await runner.query(rows.map(() => statement).join(';\n'), rows.flatMap(keysOf))
    } else {
      for (const row of rows) await runner.query(statement, keysOf(row))
    }
  }

  /** Runs the transaction's first statement together with BEGIN (one round trip where the pool allows it). */
  async function beginWith(runner: QueryRunner, statement: string, parameters: unknown[] = []): Promise<RawRow[]> {
    if (supportsMultipleStatements) {
      const results = (await runner.query(`${BEGIN.join(';\n')};\n${statement}`, parameters)) as unknown[]
      return results.at(-1) as RawRow[]
    }
    for (const begin of BEGIN) await runner.query(begin)
    return (await runner.query(statement, parameters)) as RawRow[]
  }

  /**
   * The ordered claim. A locking read on InnoDB also applies its lock mode (and SKIP LOCKED) to its sub-selects,
   * so "no lower row of this key exists" must not be asked inside the locking statement: it could skip a lower
   * row another burst holds and see the key as free. Instead:
   * 1. a consistent (non-locking) read lists each key's lowest visible row, lowest first: a row another burst has
   *    claimed is still visible (its delete is not committed), so it stays its key's head;
   * 2. `… WHERE key IN (those heads) FOR UPDATE SKIP LOCKED` locks the heads nobody holds: each locked head leases
   *    its key (a head claimed by another burst is locked, and one deleted meanwhile is gone, so both are skipped);
   * 3. a consistent read lists the leased keys' rows in key order up to `limit`, and they are locked by primary
   *    key with SKIP LOCKED. A row of a leased key can still be locked for a moment by another flusher's scan
   *    (InnoDB locks each row a locking scan examines before it lets go of the ones that do not match), so a
   *    key's run is cut at its first row that was not locked: a later row must never go without it;
   * 4. they are deleted one per statement, as every claim here.
   * Every statement locks by primary key or skips what is locked: nothing waits, as the unordered claim.
   */
  async function orderedClaim(runner: QueryRunner, table: SignalTable, limit: number, filter: ClaimFilter | undefined): Promise<RawRow[]> {
    const passes = hasFilter(filter) ? filterTest(table, filter) : (): boolean => true
    const heads = headsToClaim(table, limit)
    const leased = await leaseKeys(runner, table, heads, filter?.only, passes)
    if (leased.length === 0) return []
    const key = table.sqlKeyColumns.join(', ')
    const listed = (await runner.query(
      `SELECT ${key}, ${table.sqlOrderingColumns.join(', ')} FROM ${table.sqlName} WHERE ${inRowValues(table.sqlOrderingColumns, leased.length)} ` +
        `ORDER BY ${key} LIMIT ${sqlLimit(limit)}`,
      leased.flat(),
    )) as RawRow[]
    // A row the filter leaves out is not locked: its key's run is cut there (see unbrokenRuns).
    const wanted = listed.filter(passes)
    if (wanted.length === 0) return []
    const locked = (await runner.query(
      `SELECT * FROM ${table.sqlName} WHERE ${inRowValues(table.sqlKeyColumns, wanted.length)} ORDER BY ${key} FOR UPDATE SKIP LOCKED`,
      wanted.flatMap((row) => primaryKeyOf(table, row)),
    )) as RawRow[]
    const rows = unbrokenRuns(table, listed, locked)
    recordOrderedClaim(table, rows)
    return rows
  }

  /**
   * Steps 1 and 2 of the ordered claim; begins the transaction. Returns the leased keys' values. Only heads that
   * pass the claim's filter are locked; with `only`, only the keys of those rows are listed.
   */
  async function leaseKeys(
    runner: QueryRunner,
    table: SignalTable,
    heads: number,
    only: readonly KeyValues[] | undefined,
    passes: (row: RawRow) => boolean,
  ): Promise<unknown[][]> {
    const key = table.sqlKeyColumns.join(', ')
    // Heads held by other bursts come first (they are the oldest), so the list is longer than the lease; when
    // they fill it, the next page is read, a few times at most.
    const pageSize = Math.max(64, heads * 8)
    const leased: unknown[][] = []
    let after: unknown[] | undefined
    for (let page = 0; page < HEAD_PAGES && leased.length < heads; page++) {
      const listing = headsListing(table, pageSize, after, only)
      const listedHeads = page === 0 ? await beginWith(runner, listing.sql, listing.parameters) : await query(runner, listing)
      if (listedHeads.length === 0) break
      const candidates = listedHeads.filter(passes)
      if (candidates.length > 0) {
        const locked = (await runner.query(
          `SELECT ${table.sqlOrderingColumns.join(', ')} FROM ${table.sqlName} ` +
            `WHERE ${inRowValues(table.sqlKeyColumns, candidates.length)} ORDER BY ${key} ` +
            `LIMIT ${sqlLimit(heads - leased.length)} FOR UPDATE SKIP LOCKED`,
          candidates.flatMap((row) => table.keyColumns.map((column) => row[column])),
        )) as RawRow[]
        leased.push(...uniqueOrderingKeys(table, locked))
      }
      if (listedHeads.length < pageSize) break
      const last = listedHeads.at(-1)!
      after = table.keyColumns.map((column) => last[column])
    }
    return leased
  }

  return {
    name: 'mysql',
    overlapsBursts: true,

    async checkServer(runner: QueryRunner): Promise<void> {
      const rows = (await runner.query('SELECT VERSION() AS version')) as Array<{version: string}>
      const version = rows[0]?.version ?? ''
      serverIsMariadb = isMariadb(version)
      if (!supportsSkipLocked(version)) {
        throw new DatabaseError(
          `The server ${version} does not support SKIP LOCKED; signalbus needs MySQL 8.0.1 or MariaDB 10.6 or newer.`,
        )
      }
    },

    tableQualifier(metadata: EntityMetadata): string | undefined {
      return metadata.database
    },

    async claim(runner: QueryRunner, table: SignalTable, limit: number, filter?: ClaimFilter): Promise<RawRow[]> {
      const key = table.sqlKeyColumns.join(', ')
      const condition = hasFilter(filter) ? keyFilterCondition(table, filter, mysqlKeySyntax) : {sql: '', parameters: []}
      const where = condition.sql ? ` WHERE ${condition.sql}` : ''
      const rows = isOrdered(table)
        ? await orderedClaim(runner, table, limit, filter)
        : await beginWith(runner, `SELECT * FROM ${table.sqlName}${where} ORDER BY ${key} LIMIT ${sqlLimit(limit)} FOR UPDATE SKIP LOCKED`, condition.parameters)
      if (rows.length > 0) await deleteRows(runner, table, rows)
      return rows
    },

    hasPending: hasPendingRows,

    oldestAgeQuery: (table, column) =>
      `SELECT TIMESTAMPDIFF(MICROSECOND, MIN(${column}), CURRENT_TIMESTAMP(6)) / 1000000 AS age FROM ${table.sqlName}`,

    async commit(runner: QueryRunner): Promise<void> {
      await runner.query('COMMIT')
    },

    async rollback(runner: QueryRunner): Promise<void> {
      await runner.query('ROLLBACK')
    },

    isTransient(error: unknown): boolean {
      const code = errorCode(error)
      return code === ER_LOCK_DEADLOCK || code === ER_CHECKREAD || code === ER_LOCK_WAIT_TIMEOUT
    },
  }
}

const primaryKeyOf = (table: SignalTable, row: RawRow): unknown[] => table.keyColumns.map((column) => row[column])

/** How many pages of candidate heads one ordered claim reads at most. */
const HEAD_PAGES = 4

interface Statement {
  sql: string
  parameters: unknown[]
}

const query = async (runner: QueryRunner, statement: Statement): Promise<RawRow[]> =>
  (await runner.query(statement.sql, statement.parameters)) as RawRow[]

/**
 * A consistent read of each ordering key's lowest visible row (primary key and ordering key), lowest first,
 * after the primary key `after` if given. A one-column primary key takes MIN per key (a loose index scan with the
 * recommended index on (ordering key, primary key)); a composite one ranks the rows of each key.
 */
function headsListing(
  table: SignalTable,
  pageSize: number,
  after: unknown[] | undefined,
  only: readonly KeyValues[] | undefined,
): Statement {
  const key = table.sqlKeyColumns.join(', ')
  const ordering = table.sqlOrderingColumns.join(', ')
  // With `only`: the keys of those rows, all of whose rows still count (a lower row outside `only` is a head too).
  const restriction = only === undefined ? {sql: '', parameters: []} : keyFilterCondition(table, {only}, mysqlKeySyntax)
  const ofKeys = only === undefined ? '' : ` WHERE ${rowValue(table.sqlOrderingColumns)} IN (SELECT ${ordering} FROM ${table.sqlName} WHERE ${restriction.sql})`
  const from =
    table.sqlKeyColumns.length === 1
      ? `SELECT ${ordering}, MIN(${key}) AS ${key} FROM ${table.sqlName}${ofKeys} GROUP BY ${ordering}`
      : `SELECT ${ordering}, ${key}, ROW_NUMBER() OVER (PARTITION BY ${ordering} ORDER BY ${key}) AS signalbus_rank ` +
        `FROM ${table.sqlName}${ofKeys}`
  const conditions = [
    ...(table.sqlKeyColumns.length === 1 ? [] : ['signalbus_rank = 1']),
    ...(after ? [`${rowValue(table.sqlKeyColumns)} > ${rowValue(table.sqlKeyColumns.map(() => '?'))}`] : []),
  ]
  const where = conditions.length > 0 ? ` WHERE ${conditions.join(' AND ')}` : ''
  return {
    sql: `SELECT ${key} FROM (${from}) AS heads${where} ORDER BY ${key} LIMIT ${sqlLimit(pageSize)}`,
    parameters: [...restriction.parameters, ...(after ?? [])],
  }
}

/** `(a, b) IN ((?, ?), …)` for `count` row values (a plain `a IN (?, …)` for one column). */
function inRowValues(columns: string[], count: number): string {
  const one = rowValue(columns.map(() => '?'))
  return `${rowValue(columns)} IN (${Array.from({length: count}, () => one).join(', ')})`
}

const rowValue = (items: string[]): string => (items.length === 1 ? items[0]! : `(${items.join(', ')})`)

const isMariadb = (version: string): boolean => /mariadb/i.test(version)

function supportsSkipLocked(version: string): boolean {
  const [major = 0, minor = 0, patch = 0] = version.split(/[.-]/).map(Number)
  if (isMariadb(version)) return major > 10 || (major === 10 && minor >= 6)
  return major > 8 || (major === 8 && (minor > 0 || patch >= 1))
}
