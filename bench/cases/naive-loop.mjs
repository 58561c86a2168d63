// Case 2, the baseline: the loop anyone would write by hand with the bare drivers, one transaction per burst:
// BEGIN → SELECT 1,000 rows FOR UPDATE SKIP LOCKED → publish them on a confirm channel → await the confirms →
// DELETE them → COMMIT. Strictly serial: the database waits for the broker and the broker for the database.
import amqplib from 'amqplib'
import pg from 'pg'
import mysql from 'mysql2/promise'
import {RABBITMQ_URL, TABLE, connectionOptions, messageBody, QUEUE} from '../lib/settings.mjs'

const dialect = process.env.BENCH_DIALECT ?? 'postgres'
const burst = 1000
const options = connectionOptions(dialect)

async function connectDatabase() {
  if (dialect === 'postgres') {
    const client = new pg.Client({host: options.host, port: options.port, user: options.username, database: options.database})
    await client.connect()
    return {
      query: async (sql, params) => (await client.query(sql, params)).rows,
      deleteIds: (ids) => client.query(`DELETE FROM ${TABLE} WHERE id = ANY($1::bigint[])`, [ids]),
      close: () => client.end(),
    }
  }
  const connection = await mysql.createConnection({
    host: options.host, port: options.port, user: options.username, password: options.password, database: options.database,
  })
  return {
    query: async (sql, params) => (await connection.query(sql, params))[0],
    deleteIds: (ids) => connection.query(`DELETE FROM ${TABLE} WHERE id IN (?)`, [ids]),
    close: () => connection.end(),
  }
}

const db = await connectDatabase()
const amqp = await amqplib.connect(RABBITMQ_URL)
const channel = await amqp.createConfirmChannel()
const started = performance.now()
let sent = 0
for (;;) {
  await db.query('BEGIN')
  const rows = await db.query(`SELECT id, payload FROM ${TABLE} ORDER BY id LIMIT ${burst} FOR UPDATE SKIP LOCKED`)
  if (rows.length === 0) {
    await db.query('COMMIT')
    break
  }
  for (const row of rows) {
    channel.publish('', QUEUE, messageBody(row.id, row.payload), {
      persistent: true,
      contentType: 'application/json',
      messageId: String(row.id),
    })
  }
  await channel.waitForConfirms()
  await db.deleteIds(rows.map((row) => row.id))
  await db.query('COMMIT')
  sent += rows.length
  if (rows.length < burst) break
}
const seconds = (performance.now() - started) / 1000
await amqp.close()
await db.close()
process.stdout.write(JSON.stringify({sent, seconds}) + '\n')
