// Finds and loads the user's TypeORM data source file (-d, SIGNALBUS_DATA_SOURCE or package.json),
// following the TypeORM CLI's rules: .js/.mjs/.cjs, and .ts/.mts/.cts through src/cli/typescript/ (SWC or tsc, cached).
import {stat} from 'node:fs/promises'
import {createRequire} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import type {DataSource} from 'typeorm'
import {SignalbusConfigError, describeError} from '../errors.js'
import {assertSupportedTypeormFor, isDataSource} from '../typeorm-compat.js'
import {readPackageSettings, settingPath} from './package-settings.js'
import {registerTypescript} from './typescript/register.js'

/** The environment variable naming the data source file when no flag is given. */
export const DATA_SOURCE_ENV = 'SIGNALBUS_DATA_SOURCE'

const HOW_TO_GIVE_ONE =
  'No TypeORM data source file given: pass -d, --data-source PATH, set SIGNALBUS_DATA_SOURCE, ' +
  'or add "signalbus": {"dataSource": "PATH"} to package.json.'

/** The absolute path of the data source file: the flag, else the environment, else the nearest package.json. */
export async function resolveDataSourcePath(
  flag: string | undefined,
  options: {cwd: string; env: NodeJS.ProcessEnv},
): Promise<string> {
  const given = nonEmpty(flag) ?? nonEmpty(options.env[DATA_SOURCE_ENV])
  const filePath = given === undefined ? await pathFromPackageJson(options.cwd) : path.resolve(options.cwd, given)
  if (filePath === undefined) throw new SignalbusConfigError(HOW_TO_GIVE_ONE)
  await assertIsFile(filePath)
  return filePath
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value
}

/** `signalbus.dataSource` of the nearest package.json above `cwd`, resolved against that file's directory. */
async function pathFromPackageJson(cwd: string): Promise<string | undefined> {
  const found = await readPackageSettings(cwd)
  return found === undefined ? undefined : settingPath(found, 'dataSource')
}

async function assertIsFile(filePath: string): Promise<void> {
  const stats = await stat(filePath).catch(() => undefined)
  if (stats === undefined) throw new SignalbusConfigError(`Data source file "${filePath}" does not exist.`)
  if (!stats.isFile()) throw new SignalbusConfigError(`Data source file "${filePath}" is not a file.`)
}

export interface LoadOptions {
  /**
   * Map stack traces of TypeScript files to their .ts lines (Node's source maps). Off by default: Node then also
   * reads the source maps of every package that ships them (typeorm's are ~15 MB), so the CLI turns it on for --verbose.
   */
  sourceMaps?: boolean
}

/** Imports the user's data source file and returns the one DataSource it exports, not initialized. */
export async function loadDataSource(filePath: string, options: LoadOptions = {}): Promise<DataSource> {
  const file = path.resolve(filePath)
  assertSupportedTypeormFor(file)
  let found: Map<object, string>
  try {
    found = await findDataSources(await importDataSourceFile(file, options))
  } catch (error) {
    if (error instanceof SignalbusConfigError) throw error
    throw new SignalbusConfigError(`Could not load data source file "${file}": ${describeError(error)}`, {cause: error})
  }
  const names = [...found.values()]
  if (names.length === 0) throw new SignalbusConfigError(`Data source file "${file}" exports no TypeORM DataSource.`)
  if (names.length > 1) {
    throw new SignalbusConfigError(
      `Data source file "${file}" exports ${names.length} DataSources (${names.join(', ')}); export exactly one.`,
    )
  }
  return [...found.keys()][0] as DataSource
}

/**
 * The DataSources among the module itself and its exports (each awaited), plus the properties of a plain-object
 * default export (`module.exports = {dataSource}` seen through import()); the same object counts once.
 */
async function findDataSources(loaded: unknown): Promise<Map<object, string>> {
  const found = new Map<object, string>()
  for (const [name, candidate] of candidateExports(loaded)) {
    const value: unknown = await candidate
    if (isDataSource(value) && !found.has(value)) found.set(value, name)
  }
  return found
}

function candidateExports(loaded: unknown): Array<[string, unknown]> {
  const candidates: Array<[string, unknown]> = [['module.exports', loaded]]
  if (!isObjectLike(loaded)) return candidates
  const exports = loaded as Record<string, unknown>
  for (const key of Object.keys(exports)) candidates.push([key, exports[key]])
  const defaultExport = exports['default']
  if (isPlainObject(defaultExport)) {
    for (const [key, value] of Object.entries(defaultExport)) candidates.push([`default.${key}`, value])
  }
  return candidates
}

function isObjectLike(value: unknown): value is object {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false
  const prototype: unknown = Object.getPrototypeOf(value)
  return prototype === Object.prototype || prototype === null
}

/** Imports (or, for CommonJS TypeScript, requires) the file and returns what it exports. */
async function importDataSourceFile(file: string, options: LoadOptions): Promise<unknown> {
  const extension = path.extname(file).toLowerCase()
  // Node itself tells ESM from CommonJS JavaScript by extension and package.json "type".
  if (['.js', '.mjs', '.cjs'].includes(extension)) return import(pathToFileURL(file).href)
  if (!['.ts', '.mts', '.cts'].includes(extension)) {
    throw new SignalbusConfigError(`Data source file "${file}" must end in .js, .mjs, .cjs, .ts, .mts or .cts.`)
  }
  const {system} = registerTypescript(file, {sourceMaps: options.sourceMaps === true})
  return system === 'commonjs' ? createRequire(file)(file) : import(pathToFileURL(file).href)
}
