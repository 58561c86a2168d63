// What the poison tests share: many Signal rows seeded on the server in one statement, the send-call bound the
// docs state, and the keys of the sends a fixture logged.
import {Signal} from '../fixtures/signals/entities.js'
import type {SendCall} from '../fixtures/signals/test-controls.js'
import type {TestDatabase} from './test-database.js'

/**
 * Inserts `count` Signal rows with payloads p0 … p<count-1> (ids 1 … count in a fresh table) in one statement made
 * by the server's row generator: 100,000 rows in well under a second.
 */
export async function insertManySignals(db: TestDatabase, count: number): Promise<void> {
  if (!Number.isSafeInteger(count) || count < 1) throw new Error(`not a count: ${count}`)
  const table = db.dataSource.driver.escape(db.dataSource.getMetadata(Signal).tableName)
  switch (db.dialect) {
    case 'postgres':
      await db.dataSource.query(
        `INSERT INTO ${table} (payload, tag_list) SELECT 'p' || (g - 1), 'a,t' || (g - 1) FROM generate_series(1, $1::int) AS g ORDER BY g`,
        [count],
      )
      return
    case 'mariadb':
      await db.dataSource.query(
        `INSERT INTO ${table} (payload, tag_list) SELECT CONCAT('p', seq - 1), CONCAT('a,t', seq - 1) FROM seq_1_to_${count} ORDER BY seq`,
      )
      return
    case 'sqlite':
      await db.dataSource.query(
        `WITH RECURSIVE g(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM g WHERE n + 1 < ?)
         INSERT INTO ${table} (payload, tag_list) SELECT 'p' || n, 'a,t' || n FROM g`,
        [count],
      )
  }
}

/** The docs' bound: narrowing one failing signal out of a burst of `burst` costs at most 2⌈log2 burst⌉ extra sends. */
export const extraSendsPerFailingSignal = (burst: number): number => 2 * Math.ceil(Math.log2(burst))

/** Send calls beyond one per burst that a run over `rows` rows in bursts of `burst` would have made. */
export function extraSends(calls: SendCall[], rows: number, burst: number, model = 'Signal'): number {
  return calls.filter((call) => call.model === model).length - Math.ceil(rows / burst)
}

/** Distinct positions 0 … count-1, `how` many, at random. */
export function randomPositions(count: number, how: number): number[] {
  const chosen = new Set<number>()
  while (chosen.size < how) chosen.add(Math.floor(Math.random() * count))
  return [...chosen].sort((a, b) => a - b)
}
