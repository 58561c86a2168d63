// The contract: which TypeORM entities are signal models, and the static knobs they may declare.
import type {EntityMetadata} from 'typeorm'
import {SignalbusConfigError} from './errors.js'

/** An entity instance that can send itself. */
export interface SignalInstance {
  sendSignalbusMessage?(): Promise<void> | void
}

/** The static side of a signal model class, as a user declares it. */
export interface SignalModelClass<T extends object = object> {
  new (...args: never[]): T
  /** Sends a whole burst at once; resolves only when the broker has stored every message. */
  sendSignalbusMessages?(signals: T[]): Promise<void> | void
  /** How many signals are sent and deleted in one transaction (default 1). */
  signalbusBurstCount?: number
  /**
   * After how many failed sends of its own (counted across runs, with `signalbus setup`'s tables) a signal is moved
   * to the dead letters. Without it, failing signals stay pending.
   */
  signalbusMaxAttempts?: number
  /**
   * How many bursts may be being sent at once (default 1), each its own transaction. Above 1 the send methods are
   * called concurrently: declare it only when they are safe for that. A crash re-sends at most this many bursts.
   */
  signalbusInFlight?: number
  /**
   * The property (or properties, for a composite key) whose value groups signals that must reach the send
   * method in primary-key order, one at a time: for example the id of the aggregate the signal is about.
   */
  signalbusOrderingKey?: string | readonly string[]
}

/** A signal model found in a DataSource. */
export interface SignalModel {
  /** The entity class name. */
  readonly name: string
  /** The table name as the database knows it (entityPrefix applied). */
  readonly tableName: string
  readonly target: SignalModelClass
  readonly metadata: EntityMetadata
  /** The model's own `signalbusBurstCount`, or 1. */
  readonly burstCount: number
  /** The model's own `signalbusMaxAttempts`, if it declares one. */
  readonly maxAttempts: number | undefined
  /** The model's own `signalbusInFlight`, or 1. */
  readonly inFlight: number
  /** The ordering key as declared (property names), or null for an unordered model. */
  readonly orderingKey: string | string[] | null
  /** The ordering key's column names, in declaration order; empty for an unordered model. */
  readonly orderingColumns: string[]
  readonly sendsOneByOne: boolean
  readonly sendsInBatches: boolean
}

export const DEFAULT_BURST_COUNT = 1
/** One burst being sent at a time: send methods were written for one call at a time (see docs/performance.md). */
export const DEFAULT_IN_FLIGHT = 1

/** The signal model an entity defines, or undefined when the entity is not a signal model. */
export function signalModelOf(metadata: EntityMetadata): SignalModel | undefined {
  const target = metadata.target
  if (typeof target !== 'function') return undefined
  const prototype = target.prototype as Record<string, unknown>
  const statics = target as unknown as Record<string, unknown>
  const declaresOne = 'sendSignalbusMessage' in prototype
  const declaresBatch = 'sendSignalbusMessages' in statics
  if (!declaresOne && !declaresBatch) return undefined
  const name = metadata.name
  if (declaresOne && typeof prototype.sendSignalbusMessage !== 'function') {
    throw new SignalbusConfigError(`Signal model "${name}" has a sendSignalbusMessage that is not a method.`)
  }
  if (declaresBatch && typeof statics.sendSignalbusMessages !== 'function') {
    throw new SignalbusConfigError(`Signal model "${name}" has a static sendSignalbusMessages that is not a method.`)
  }
  if (metadata.primaryColumns.length === 0) {
    throw new SignalbusConfigError(`Signal model "${name}" has no primary key.`)
  }
  return {
    name,
    tableName: metadata.tableName,
    target: target as SignalModelClass,
    metadata,
    burstCount: burstCountOf(name, statics.signalbusBurstCount),
    maxAttempts: maxAttemptsOf(name, statics.signalbusMaxAttempts),
    inFlight: inFlightOf(name, statics.signalbusInFlight),
    ...orderingKeyOf(metadata, statics.signalbusOrderingKey),
    sendsOneByOne: declaresOne,
    sendsInBatches: declaresBatch,
  }
}

function burstCountOf(name: string, declared: unknown): number {
  if (declared === undefined) return DEFAULT_BURST_COUNT
  if (typeof declared === 'number' && Number.isInteger(declared) && declared >= 1) return declared
  throw new SignalbusConfigError(
    `Signal model "${name}" has signalbusBurstCount ${String(declared)}; it must be a positive integer.`,
  )
}

function inFlightOf(name: string, declared: unknown): number {
  if (declared === undefined) return DEFAULT_IN_FLIGHT
  if (isPositiveInteger(declared)) return declared
  throw new SignalbusConfigError(
    `Signal model "${name}" has signalbusInFlight ${String(declared)}; it must be a positive integer.`,
  )
}

function maxAttemptsOf(name: string, declared: unknown): number | undefined {
  if (declared === undefined) return undefined
  if (isPositiveInteger(declared)) return declared
  throw new SignalbusConfigError(
    `Signal model "${name}" has signalbusMaxAttempts ${String(declared)}; it must be a positive integer.`,
  )
}

/** Checks a maximum number of attempts given by the caller (for example `--max-attempts`). */
export function validateMaxAttempts(maxAttempts: number): number {
  if (!isPositiveInteger(maxAttempts)) {
    throw new SignalbusConfigError(`The maximum number of attempts must be a positive integer, got ${String(maxAttempts)}.`)
  }
  return maxAttempts
}

function isPositiveInteger(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 1
}

/**
 * Resolves `signalbusOrderingKey` to columns. Each name must be a property of the entity that maps to a NOT NULL
 * column of its table (not a relation or a virtual property); a composite key is an array of such names.
 */
function orderingKeyOf(
  metadata: EntityMetadata,
  declared: unknown,
): {orderingKey: string | string[] | null; orderingColumns: string[]} {
  if (declared === undefined || declared === null) return {orderingKey: null, orderingColumns: []}
  const name = metadata.name
  const names = typeof declared === 'string' ? [declared] : Array.isArray(declared) ? (declared as unknown[]) : undefined
  if (!names || names.length === 0 || names.some((entry) => typeof entry !== 'string' || entry === '')) {
    throw new SignalbusConfigError(
      `Signal model "${name}" has signalbusOrderingKey ${JSON.stringify(declared)}; it must be a property name or a non-empty array of property names.`,
    )
  }
  const properties = names as string[]
  const orderingColumns = properties.map((property) => {
    const column = metadata.columns.find((candidate) => candidate.propertyPath === property && !candidate.isVirtual)
    if (!column || column.relationMetadata) {
      throw new SignalbusConfigError(
        `Signal model "${name}" has signalbusOrderingKey "${property}", which is not a column property of the entity.`,
      )
    }
    // NULL equals nothing in SQL: a null key could neither be held back behind its lower rows nor leased.
    if (column.isNullable) {
      throw new SignalbusConfigError(
        `Signal model "${name}" has signalbusOrderingKey "${property}", whose column is nullable; an ordering key column must be NOT NULL.`,
      )
    }
    return column.databaseName
  })
  if (new Set(orderingColumns).size !== orderingColumns.length) {
    throw new SignalbusConfigError(`Signal model "${name}" names a column twice in signalbusOrderingKey.`)
  }
  return {orderingKey: typeof declared === 'string' ? declared : [...properties], orderingColumns}
}

/** Checks a burst size given by the caller (for example `--burst`). */
export function validateBurstCount(burst: number): number {
  if (!Number.isInteger(burst) || burst < 1) {
    throw new SignalbusConfigError(`The burst count must be a positive integer, got ${String(burst)}.`)
  }
  return burst
}

/** Checks a number of bursts in flight given by the caller (for example `--in-flight`). */
export function validateInFlight(inFlight: number): number {
  if (!isPositiveInteger(inFlight)) {
    throw new SignalbusConfigError(`The number of bursts in flight must be a positive integer, got ${String(inFlight)}.`)
  }
  return inFlight
}

/** Checks a number of models flushed at once given by the caller (for example `--concurrency`). */
export function validateConcurrency(concurrency: number): number {
  if (!isPositiveInteger(concurrency)) {
    throw new SignalbusConfigError(`The concurrency must be a positive integer, got ${String(concurrency)}.`)
  }
  return concurrency
}
