// A signal's primary key as the bookkeeping tables store it (a JSON array of the key values as text, in key order)
// and as users give it: an object column → value, a lone value for a one-column key, or `col=value,col=value` text.
import {SignalbusConfigError} from '../errors.js'
import type {SignalModel} from '../signal-model.js'

/** A key as a caller gives it: column → value, or the value itself when the key has one column. */
export type DeadLetterKey = Readonly<Record<string, unknown>> | string | number | bigint

/** One key value as text: what the driver returned, written the same way every time. */
function keyValueText(value: unknown): string {
  if (value === null || value === undefined) throw new SignalbusConfigError('A primary key value is missing.')
  if (Buffer.isBuffer(value)) return value.toString('hex')
  if (value instanceof Date) return value.toISOString()
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/** The stored key of a row's key values (in key order). */
export function storedKey(values: readonly unknown[]): string {
  return JSON.stringify(values.map(keyValueText))
}

/** The key values (as text, in key order) of a stored key. */
export function storedKeyValues(key: string): string[] {
  return JSON.parse(key) as string[]
}

/** A stored key as an object column → value text. */
export function keyObject(keyColumns: readonly string[], key: string): Record<string, string> {
  const values = storedKeyValues(key)
  return Object.fromEntries(keyColumns.map((column, index) => [column, values[index] ?? '']))
}

/** A key the way `requeue --key` takes it: `col=value,col=value`. */
export function formatKey(key: Readonly<Record<string, string>>): string {
  return Object.entries(key)
    .map(([column, value]) => `${column}=${value}`)
    .join(',')
}

/** The stored key of a key given by a caller, checked against the model's key columns. */
export function storedKeyOf(keyColumns: readonly string[], given: DeadLetterKey, modelName: string): string {
  if (typeof given !== 'object') {
    if (keyColumns.length !== 1) {
      throw new SignalbusConfigError(
        `"${modelName}" has a composite key (${keyColumns.join(', ')}); give every column, e.g. ${keyColumns.map((column) => `${column}=…`).join(',')}.`,
      )
    }
    return storedKey([given])
  }
  const unknown = Object.keys(given).filter((column) => !keyColumns.includes(column))
  const missing = keyColumns.filter((column) => given[column] === undefined)
  if (unknown.length > 0 || missing.length > 0) {
    throw new SignalbusConfigError(
      `The key of "${modelName}" has the columns ${keyColumns.join(', ')}` +
        (unknown.length > 0 ? `; not ${unknown.join(', ')}` : '') +
        (missing.length > 0 ? `; missing ${missing.join(', ')}` : '') + '.',
    )
  }
  return storedKey(keyColumns.map((column) => given[column]))
}

/**
 * A `--key` argument: `col=value,col=value` (every key column, any order) for a composite key; for a one-column
 * key the whole argument is the value, unless it starts with `<column>=`. Values cannot contain commas in the
 * composite form (use the library's object form for those).
 */
export function parseKeyArgument(argument: string, keyColumns: readonly string[], modelName: string): DeadLetterKey {
  if (keyColumns.length === 1) {
    const prefix = `${keyColumns[0]}=`
    return argument.startsWith(prefix) ? argument.slice(prefix.length) : argument
  }
  const entries = argument.split(',').map((pair) => {
    const equals = pair.indexOf('=')
    if (equals < 1) {
      throw new SignalbusConfigError(`--key "${argument}" for "${modelName}" must look like ${keyColumns.map((c) => `${c}=…`).join(',')}.`)
    }
    return [pair.slice(0, equals).trim(), pair.slice(equals + 1)] as const
  })
  return Object.fromEntries(entries)
}

/** What `requeue` was asked for on the command line: key arguments (for one model) or every dead letter. */
export interface RequeueSelection {
  readonly keyArguments: readonly string[]
  readonly all: boolean
}

/**
 * Checks a requeue selection against the models it names and parses its key arguments: exactly one of `--key`
 * and `--all`, and `--key` only for a single model. Returns the keys to requeue, or undefined for all of them.
 */
export function keysToRequeue(models: readonly SignalModel[], selection: RequeueSelection): DeadLetterKey[] | undefined {
  const {keyArguments, all} = selection
  if ((keyArguments.length > 0) === all) {
    throw new SignalbusConfigError('Say which dead letters to requeue: --key K (repeatable) or --all.')
  }
  if (all) return undefined
  const [model] = models
  if (models.length !== 1 || !model) {
    throw new SignalbusConfigError(`--key needs exactly one model, not ${models.length}: name it, e.g. requeue OrderShipped --key 7.`)
  }
  const keyColumns = model.metadata.primaryColumns.map((column) => column.databaseName)
  return keyArguments.map((argument) => parseKeyArgument(argument, keyColumns, model.name))
}
