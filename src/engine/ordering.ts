// Per-key ordering (`signalbusOrderingKey`), the part every dialect shares: how many keys one ordered claim leases
// and the key values of claimed rows. The claims themselves (SQL) live in the dialect modules; the argument why
// they are correct is in docs/how-it-works.md ("Ordering").
//
// An ordered claim leases keys, not rows: it locks the lowest pending row (the "head") of up to `heads` keys that
// no other open transaction holds, with SKIP LOCKED, and then takes those keys' rows in primary-key order, up to
// the burst limit. A key's head stays visible to every other claim until the burst commits (its delete is not
// committed), and a row is claimable as a head only when no lower row of its key is visible: so the key's later
// rows wait for that commit, that is, until the send returned.
import type {ClaimFilter} from './dialects/dialect.js'
import {keyOf, type RawRow, type SignalTable} from './signal-table.js'

export const isOrdered = (table: SignalTable): boolean => table.orderingColumns.length > 0

/** Rows per key assumed before a table's first ordered claim (then measured). */
const INITIAL_ROWS_PER_KEY = 16

/**
 * Rows per key seen in each ordered table's last claim. One claim leases about `limit / rowsPerKey` keys: few
 * enough that the other bursts in flight (this process's and other flushers') find free keys of their own when a
 * table has few keys with many rows each, and enough to fill the burst when it has many keys with few rows each.
 */
const rowsPerKeyByTable = new WeakMap<SignalTable, number>()

/** How many keys the next ordered claim of `table` should lease for a burst of `limit` rows. */
export function headsToClaim(table: SignalTable, limit: number): number {
  const rowsPerKey = rowsPerKeyByTable.get(table) ?? INITIAL_ROWS_PER_KEY
  return Math.max(1, Math.min(limit, Math.ceil(limit / rowsPerKey)))
}

/** Learns from a claim how deep the table's keys are, for the next claim's lease. */
export function recordOrderedClaim(table: SignalTable, rows: readonly RawRow[]): void {
  if (rows.length === 0) return
  rowsPerKeyByTable.set(table, Math.max(1, rows.length / distinctOrderingKeys(table, rows)))
}

/** The ordering-key values of a row, in the key's column order (query parameters for "these keys"). */
export function orderingValues(table: SignalTable, row: RawRow): unknown[] {
  return table.orderingColumns.map((column) => row[column])
}

/** How many different ordering-key values the rows hold. */
export function distinctOrderingKeys(table: SignalTable, rows: readonly RawRow[]): number {
  return new Set(rows.map((row) => orderingValues(table, row).map(comparable).join('\u0000'))).size
}

/** The distinct ordering keys of the rows, first occurrence first. */
export function uniqueOrderingKeys(table: SignalTable, rows: readonly RawRow[]): unknown[][] {
  const seen = new Map<string, unknown[]>()
  for (const row of rows) {
    const values = orderingValues(table, row)
    const id = values.map(comparable).join('\u0000')
    if (!seen.has(id)) seen.set(id, values)
  }
  return [...seen.values()]
}

function comparable(value: unknown): string {
  if (value instanceof Date) return `d${value.getTime()}`
  if (Buffer.isBuffer(value)) return `b${value.toString('hex')}`
  return `${typeof value}:${String(value)}`
}

const identity = (values: readonly unknown[]): string => JSON.stringify(values.map(comparable))

/**
 * Whether a row passes a claim filter (`only` these primary keys, none of `exclude`), compared as the rows' own key
 * values (the filter's keys come from rows this process claimed before).
 */
export function filterTest(table: SignalTable, filter: ClaimFilter): (row: RawRow) => boolean {
  const only = filter.only === undefined ? undefined : new Set(filter.only.map(identity))
  const exclude = new Set((filter.exclude ?? []).map(identity))
  return (row) => {
    const id = identity(keyOf(table, row))
    return (only === undefined || only.has(id)) && !exclude.has(id)
  }
}

/**
 * The rows of `claimable` in key order, without each ordering key's rows from its first row in `listed` that is not
 * in `claimable` on: a key's rows go out as an unbroken run of its lowest pending rows, and a later row never goes
 * without an earlier one. `listed` has (at least) the primary and ordering key columns of every pending row the
 * claim looked at, in key order, from each key's lowest; `claimable` is the subset it may take (locked by this
 * claim, and passing its filter).
 */
export function unbrokenRuns(table: SignalTable, listed: readonly RawRow[], claimable: readonly RawRow[]): RawRow[] {
  const claimableByKey = new Map(claimable.map((row) => [identity(keyOf(table, row)), row]))
  const broken = new Set<string>()
  const kept: RawRow[] = []
  for (const row of listed) {
    const orderingKey = identity(orderingValues(table, row))
    const found = claimableByKey.get(identity(keyOf(table, row)))
    if (!found) broken.add(orderingKey)
    else if (!broken.has(orderingKey)) kept.push(found)
  }
  return kept
}
