// Resolves model names given by a user to signal models: entity class name first, then table name
// (as in the database, then as declared before an entityPrefix).
import type {SignalModel} from './signal-model.js'
import {SignalbusConfigError} from './errors.js'

export type UnknownNameHandling = 'warn' | 'error' | 'ignore' | ((name: string) => void)

export interface ModelNameOptions {
  /** What to do with a name that matches no signal model (default: 'warn' through `onWarning`). */
  onUnknown?: UnknownNameHandling
  /** Names to leave out (resolved the same way). */
  exclude?: readonly string[]
  /** Receives warnings when onUnknown is 'warn'. */
  onWarning?: (message: string) => void
}

interface HasSignalModels {
  getSignalModels(): SignalModel[]
}

export function unknownNameMessage(name: string): string {
  return `A signal with name "${name}" does not exist.`
}

/**
 * The signal models to flush for the given names (all models when no name is given), in the order
 * given, each once.
 */
export function getModelsToFlush(
  signalbus: HasSignalModels,
  names: readonly string[] = [],
  options: ModelNameOptions = {},
): SignalModel[] {
  const models = signalbus.getSignalModels()
  const lookup = modelLookup(models)

  const unknown: string[] = []
  const resolve = (list: readonly string[]): SignalModel[] =>
    list.flatMap((name) => {
      const model = lookup(name)
      if (!model) unknown.push(name)
      return model ? [model] : []
    })

  const chosen = names.length > 0 ? resolve(names) : models
  const excluded = new Set(resolve(options.exclude ?? []))
  reportUnknown([...new Set(unknown)], options)
  return [...new Set(chosen)].filter((model) => !excluded.has(model))
}

/** A finder of models by name: class name first, then table name, then the declared table name. */
export function modelLookup(models: readonly SignalModel[]): (name: string) => SignalModel | undefined {
  const byClassName = new Map(models.map((model) => [model.name, model]))
  const byTableName = new Map(models.map((model) => [model.tableName, model]))
  const byDeclaredTableName = new Map(models.map((model) => [model.metadata.givenTableName ?? model.tableName, model]))
  return (name) => byClassName.get(name) ?? byTableName.get(name) ?? byDeclaredTableName.get(name)
}

/** Up to this many unknown names get a warning line each; more are summed up in one line. */
const MAX_SEPARATE_WARNINGS = 5

function reportUnknown(names: string[], options: ModelNameOptions): void {
  if (names.length === 0) return
  const handling = options.onUnknown ?? 'warn'
  if (handling === 'ignore') return
  if (handling === 'error') throw new SignalbusConfigError(unknownNamesMessage(names))
  if (typeof handling === 'function') {
    for (const name of names) handling(name)
    return
  }
  if (names.length > MAX_SEPARATE_WARNINGS) options.onWarning?.(unknownNamesMessage(names))
  else for (const name of names) options.onWarning?.(unknownNameMessage(name))
}

function unknownNamesMessage(names: string[]): string {
  if (names.length === 1) return unknownNameMessage(names[0]!)
  const shown = names.slice(0, MAX_SEPARATE_WARNINGS).map((name) => `"${name}"`).join(', ')
  const more = names.length > MAX_SEPARATE_WARNINGS ? ` and ${names.length - MAX_SEPARATE_WARNINGS} more` : ''
  return `Signals with names ${shown}${more} do not exist.`
}
