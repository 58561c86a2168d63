// The NOTIFY channel of a signal table, shared by the trigger that notifies and the listener. PostgreSQL
// channel names are identifiers (at most 63 bytes): a long table name gets a hash instead.
import {createHash} from 'node:crypto'

const MAX_IDENTIFIER_BYTES = 63
const PREFIX = 'signalbus.'

/** `tableName` as SignalTable.displayName gives it: schema.table, or table. */
export function channelFor(tableName: string): string {
  const readable = `${PREFIX}${tableName}`
  if (Buffer.byteLength(readable) <= MAX_IDENTIFIER_BYTES) return readable
  return `${PREFIX}${createHash('sha256').update(tableName).digest('hex').slice(0, 32)}`
}
