// SQLite drivers give every QueryRunner of a DataSource the same single connection, so two atomic blocks
// running at once would share one transaction. They take turns instead, one per DataSource.
import type {DataSource} from 'typeorm'

const SINGLE_CONNECTION_TYPES = new Set(['better-sqlite3', 'sqlite', 'sqljs', 'capacitor', 'cordova', 'expo', 'nativescript', 'react-native'])

// Process-wide, like the transaction store: the ESM and CommonJS builds of signalbus must queue on one line.
const QUEUE = Symbol.for('signalbus.connectionTurns')
const queueHolder = globalThis as {[QUEUE]?: WeakMap<DataSource, Promise<void>>}
const lastInLine = (queueHolder[QUEUE] ??= new WeakMap<DataSource, Promise<void>>())

/** Runs `body` when no other atomic transaction of this DataSource holds the connection (only on SQLite). */
export async function withConnectionTurn<R>(dataSource: DataSource, body: () => Promise<R>): Promise<R> {
  if (!SINGLE_CONNECTION_TYPES.has(dataSource.options.type)) return body()
  const previous = lastInLine.get(dataSource) ?? Promise.resolve()
  let endTurn!: () => void
  const turn = new Promise<void>((resolve) => (endTurn = resolve))
  const mine = previous.then(() => turn)
  lastInLine.set(dataSource, mine)
  await previous
  try {
    return await body()
  } finally {
    endTurn()
    if (lastInLine.get(dataSource) === mine) lastInLine.delete(dataSource)
  }
}
