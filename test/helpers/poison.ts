// What the poison tests share: many Signal rows seeded on the server in one statement, the send-call bound the
// docs state, and the keys of the sends a fixture logged.
import amqplib from 'amqplib'
import {Signal} from '../fixtures/signals/entities.js'
import type {SendCall} from '../fixtures/signals/test-controls.js'
import {RABBITMQ_URL} from './rabbitmq.js'
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

/** The docs' bound: narrowing one failing signal out of a burst of `burst` costs at most ⌈log2 burst⌉ + 3 extra sends. */
export const extraSendsPerFailingSignal = (burst: number): number => Math.ceil(Math.log2(burst)) + 3

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

/**
 * Reads every message of a queue with a consumer (basic.get would take a round trip per message) and returns their
 * message ids; stops when `expected` have arrived or nothing more came for a second.
 */
export async function consumeMessageIds(queue: string, expected: number): Promise<string[]> {
  const connection = await amqplib.connect(RABBITMQ_URL)
  try {
    const channel = await connection.createChannel()
    await channel.prefetch(5000)
    const ids: string[] = []
    await new Promise<void>((resolve, reject) => {
      let idle: NodeJS.Timeout = setTimeout(resolve, 1000)
      channel
        .consume(
          queue,
          (message) => {
            if (!message) return
            ids.push(String(message.properties.messageId))
            channel.ack(message)
            clearTimeout(idle)
            if (ids.length >= expected) resolve()
            else idle = setTimeout(resolve, 1000)
          },
          {noAck: false},
        )
        .catch(reject)
    })
    return ids
  } finally {
    await connection.close()
  }
}

/** Seeds `count` RabbitSignal rows (payloads m0 …) on PostgreSQL with generate_series; returns their ids as keys. */
export async function insertManyRabbitSignals(db: TestDatabase, entity: Function, count: number): Promise<string[]> {
  if (db.dialect !== 'postgres') throw new Error('insertManyRabbitSignals seeds PostgreSQL only')
  const table = db.dataSource.driver.escape(db.dataSource.getMetadata(entity).tableName)
  const rows = (await db.dataSource.query(
    `INSERT INTO ${table} (payload) SELECT 'm' || (g - 1) FROM generate_series(1, $1::int) AS g ORDER BY g RETURNING id`,
    [count],
  )) as Array<{id: number}>
  return rows.map((row) => String(row.id))
}
