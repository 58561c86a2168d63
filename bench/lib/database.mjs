// The benchmark table on PostgreSQL and MariaDB: create it, refill it fast with server-side row generators
// (generate_series, MariaDB's seq_1_to_N), count it, drop it. Uses the drivers directly, not signalbus.
import pg from 'pg'
import mysql from 'mysql2/promise'
import {PAYLOAD_LENGTH, TABLE, connectionOptions} from './settings.mjs'

export async function connect(dialect) {
  const options = connectionOptions(dialect)
  if (dialect === 'postgres') {
    const client = new pg.Client({host: options.host, port: options.port, user: options.username, database: options.database})
    await client.connect()
    return {dialect, query: async (sql, params) => (await client.query(sql, params)).rows, close: () => client.end()}
  }
  const connection = await mysql.createConnection({
    host: options.host, port: options.port, user: options.username, password: options.password, database: options.database,
  })
  return {dialect, query: async (sql, params) => (await connection.query(sql, params))[0], close: () => connection.end()}
}

/** Drops and creates the table the bench fixture maps (id bigint auto-increment primary key, payload varchar(200)). */
export async function createTable(db, table = TABLE) {
  await dropTable(db, table)
  if (db.dialect === 'postgres') {
    await db.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, payload varchar(200) NOT NULL)`)
  } else {
    await db.query(`CREATE TABLE ${table} (id bigint AUTO_INCREMENT PRIMARY KEY, payload varchar(200) NOT NULL) ENGINE=InnoDB`)
  }
}

export async function dropTable(db, table = TABLE) {
  await db.query(`DROP TABLE IF EXISTS ${table}`)
}

/** Empties the table and inserts `count` rows with ids 1…count and payloads of PAYLOAD_LENGTH characters. */
export async function seed(db, count, table = TABLE) {
  const filler = 'x'.repeat(PAYLOAD_LENGTH - 8)
  if (db.dialect === 'postgres') {
    await db.query(`TRUNCATE ${table} RESTART IDENTITY`)
    await db.query(
      `INSERT INTO ${table} (payload) SELECT $1 || lpad(g::text, 8, '0') FROM generate_series(1, $2::int) AS g ORDER BY g`,
      [filler, count],
    )
    await db.query(`VACUUM ANALYZE ${table}`)
  } else {
    await db.query(`TRUNCATE TABLE ${table}`)
    const chunk = 500_000 // MariaDB's sequence tables are generated on the fly; big ranges are fine, but keep transactions moderate.
    for (let from = 1; from <= count; from += chunk) {
      const to = Math.min(count, from + chunk - 1)
      await db.query(`INSERT INTO ${table} (payload) SELECT CONCAT(?, LPAD(seq, 8, '0')) FROM seq_${from}_to_${to} ORDER BY seq`, [filler])
    }
    await db.query(`ANALYZE TABLE ${table}`)
  }
}

export async function countRows(db, table = TABLE) {
  const rows = await db.query(`SELECT COUNT(*) AS n FROM ${table}`)
  return Number(rows[0].n)
}
