// The isolation level of an atomic block: the caller's, else the DataSource's `isolationLevel` option,
// else REPEATABLE READ (SERIALIZABLE on SQLite, which has no other real level).
import type {DataSource} from 'typeorm'
import {configuredIsolationLevel, supportedIsolationLevels} from '../typeorm-compat.js'

/** The standard SQL isolation levels, weakest first. */
const LEVELS = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'] as const
export type IsolationLevel = (typeof LEVELS)[number]

const DEFAULT_LEVEL: IsolationLevel = 'REPEATABLE READ'

export function isolationFor(dataSource: DataSource, requested: IsolationLevel | undefined): IsolationLevel | undefined {
  if (requested !== undefined) return requested
  const configured = configuredIsolationLevel(dataSource)
  if (configured !== undefined) return isKnownLevel(configured) ? configured : undefined
  const supported = supportedIsolationLevels(dataSource)
  if (supported.includes(DEFAULT_LEVEL)) return DEFAULT_LEVEL
  return supported.includes('SERIALIZABLE') ? 'SERIALIZABLE' : undefined
}

/** True when a transaction running at `running` does not give the guarantees `wanted` asks for. */
export function isWeaker(running: IsolationLevel | undefined, wanted: IsolationLevel): boolean {
  return running !== undefined && LEVELS.indexOf(running) < LEVELS.indexOf(wanted)
}

function isKnownLevel(level: string): level is IsolationLevel {
  return (LEVELS as readonly string[]).includes(level)
}
