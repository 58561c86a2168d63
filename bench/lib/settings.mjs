// Where the benchmark's services are (the loopback PostgreSQL, MariaDB and RabbitMQ of the test suite).
// Imported by the data source the CLI loads, so it imports nothing.

export const DIALECTS = ['postgres', 'mariadb']
/** Overridable so that two benchmark runs on one machine (two worktrees) do not share a table. */
export const TABLE = process.env.BENCH_TABLE ?? 'bench_signal'
export const QUEUE = process.env.BENCH_QUEUE ?? 'signalbus-bench'
export const RABBITMQ_URL = process.env.SIGNALBUS_RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672'

export const PAYLOAD_LENGTH = 90

/** TypeORM options for a dialect. */
export function connectionOptions(dialect) {
  switch (dialect) {
    case 'postgres':
      return {type: 'postgres', host: '127.0.0.1', port: 5432, username: 'postgres', database: 'test'}
    case 'mariadb':
      return {type: 'mariadb', host: '127.0.0.1', port: 3306, username: 'root', password: '', database: 'test'}
    default:
      throw new Error(`unknown benchmark dialect ${dialect}`)
  }
}

/** The message every case publishes for a row: ~110 bytes of JSON. */
export const messageBody = (id, payload) => Buffer.from(JSON.stringify({id, payload}))
