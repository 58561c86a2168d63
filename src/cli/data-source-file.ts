// Finds and loads the user's TypeORM data source file (-d, SIGNALBUS_DATA_SOURCE or package.json),
// following the TypeORM CLI's rules: .js/.mjs/.cjs, and .ts/.mts/.cts through ts-node (transpile-only).
import {readFile, stat} from 'node:fs/promises'
import {createRequire, register} from 'node:module'
import path from 'node:path'
import {pathToFileURL} from 'node:url'
import type {DataSource} from 'typeorm'
import {SignalbusConfigError, describeError} from '../errors.js'
import {assertSupportedTypeormFor, isDataSource} from '../typeorm-compat.js'

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
  const packageJsonPath = await findNearestPackageJson(path.resolve(cwd))
  if (packageJsonPath === undefined) return undefined
  const packageJson = await readPackageJson(packageJsonPath)
  const signalbus = packageJson['signalbus']
  if (signalbus === undefined || signalbus === null) return undefined
  const dataSource = typeof signalbus === 'object' ? (signalbus as Record<string, unknown>)['dataSource'] : undefined
  if (dataSource === undefined) return undefined
  if (typeof dataSource !== 'string' || dataSource.trim() === '') {
    throw new SignalbusConfigError(`"signalbus.dataSource" in "${packageJsonPath}" must be a path (a non-empty string).`)
  }
  return path.resolve(path.dirname(packageJsonPath), dataSource)
}

/** The first package.json found walking up from `directory`, if any. */
async function findNearestPackageJson(directory: string): Promise<string | undefined> {
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json')
    if (await isFile(candidate)) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

async function readPackageJson(packageJsonPath: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(packageJsonPath, 'utf8'))
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  } catch (error) {
    throw new SignalbusConfigError(`Could not read "${packageJsonPath}": ${describeError(error)}`, {cause: error})
  }
}

async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile()
  } catch {
    return false
  }
}

async function assertIsFile(filePath: string): Promise<void> {
  const stats = await stat(filePath).catch(() => undefined)
  if (stats === undefined) throw new SignalbusConfigError(`Data source file "${filePath}" does not exist.`)
  if (!stats.isFile()) throw new SignalbusConfigError(`Data source file "${filePath}" is not a file.`)
}

/** Imports the user's data source file and returns the one DataSource it exports, not initialized. */
export async function loadDataSource(filePath: string): Promise<DataSource> {
  const file = path.resolve(filePath)
  assertSupportedTypeormFor(file)
  let found: Map<object, string>
  try {
    found = await findDataSources(await importDataSourceFile(file))
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

type LoadRoute = 'import' | 'ts-commonjs' | 'ts-esm'

/** Imports (or, for CommonJS TypeScript, requires) the file and returns what it exports. */
async function importDataSourceFile(file: string): Promise<unknown> {
  const route = await loadRouteOf(file)
  if (route === 'ts-commonjs') {
    registerTsNodeForCommonjs(file)
    return createRequire(file)(file)
  }
  if (route === 'ts-esm') registerTsNodeForEsm(file)
  return import(pathToFileURL(file).href)
}

async function loadRouteOf(file: string): Promise<LoadRoute> {
  switch (path.extname(file).toLowerCase()) {
    case '.js':
    case '.mjs':
    case '.cjs':
      return 'import' // Node itself tells ESM from CommonJS by extension and package.json "type".
    case '.mts':
      return 'ts-esm'
    case '.cts':
      return 'ts-commonjs'
    case '.ts':
      return (await isInEsmPackage(file)) ? 'ts-esm' : 'ts-commonjs'
    default:
      throw new SignalbusConfigError(
        `Data source file "${file}" must end in .js, .mjs, .cjs, .ts, .mts or .cts.`,
      )
  }
}

async function isInEsmPackage(file: string): Promise<boolean> {
  const packageJsonPath = await findNearestPackageJson(path.dirname(file))
  return packageJsonPath !== undefined && (await readPackageJson(packageJsonPath))['type'] === 'module'
}

/** ts-node is taken from the user's project when it has one, else from signalbus's own (optional) dependency. */
function resolveTsNode(file: string): string {
  for (const from of [file, import.meta.url]) {
    try {
      return createRequire(from).resolve('ts-node')
    } catch {
      // Not installed there: try the next place.
    }
  }
  throw new SignalbusConfigError(
    `Data source file "${file}" is TypeScript, which needs ts-node: install it (npm install --save-dev ts-node).`,
  )
}

interface TsNodeOptions {
  transpileOnly: true
  projectSearchDir: string
  compilerOptions: {module: string; moduleResolution: string}
}

/**
 * Transpile only (type errors are the user's build's business), with the tsconfig found from the file's directory
 * (not the cwd: without the user's `experimentalDecorators`, TypeORM's decorators break). The package decides the
 * module system, as it does for Node; the tsconfig's `module` (e.g. `esnext` in a CommonJS package) is overridden,
 * and `moduleResolution` with it, since TypeScript rejects mismatched pairs even when only transpiling.
 */
function tsNodeOptions(file: string, system: 'commonjs' | 'esm'): TsNodeOptions {
  const compilerOptions =
    system === 'commonjs'
      ? {module: 'commonjs', moduleResolution: 'node'}
      : {module: 'nodenext', moduleResolution: 'nodenext'}
  return {transpileOnly: true, projectSearchDir: path.dirname(file), compilerOptions}
}

let commonjsRegistered = false
let esmRegistered = false

/** Installs ts-node's require hooks, once per process. */
function registerTsNodeForCommonjs(file: string): void {
  if (commonjsRegistered) return
  const tsNode = createRequire(import.meta.url)(resolveTsNode(file)) as {register(options: TsNodeOptions): unknown}
  tsNode.register(tsNodeOptions(file, 'commonjs'))
  commonjsRegistered = true
}

/**
 * Installs ts-node's ESM loader hooks with `module.register()`, once per process. The hooks module is inlined as
 * a data: URL so that it can hand ts-node explicit options, which `ts-node/esm` only reads from the environment.
 */
function registerTsNodeForEsm(file: string): void {
  if (esmRegistered) return
  register(ESM_HOOKS_URL, {data: {tsNodePath: resolveTsNode(file), options: tsNodeOptions(file, 'esm')}})
  esmRegistered = true
}

/** Runs in Node's loader thread: ts-node's public `register()` and `createEsmHooks()`. */
const ESM_HOOKS_SOURCE = `
import {createRequire} from 'node:module'
let hooks
export async function initialize({tsNodePath, options}) {
  const tsNode = createRequire(tsNodePath)(tsNodePath)
  hooks = tsNode.createEsmHooks(tsNode.register(options))
}
export function resolve(specifier, context, nextResolve) {
  return hooks.resolve(specifier, context, nextResolve)
}
export function load(url, context, nextLoad) {
  return hooks.load(url, context, nextLoad)
}
`

const ESM_HOOKS_URL = `data:text/javascript,${encodeURIComponent(ESM_HOOKS_SOURCE)}`
