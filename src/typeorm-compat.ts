// The one place that knows TypeORM 0.3 from 1.x: each difference is answered by feature, never by version.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import type {AbstractLogger, DataSource, EntityManager, QueryRunner} from 'typeorm'
import type {IsolationLevel} from './atomic/isolation.js'
import {SignalbusConfigError} from './errors.js'

/** The TypeORM releases signalbus is tested with (package.json's peerDependencies says the same). */
export const SUPPORTED_TYPEORM_RANGE = '^0.3.20 || ^1.0.0'

/**
 * TypeORM's own cross-copy check (`InstanceChecker.isDataSource`, the same marker in 0.3 and 1.x): an app's
 * DataSource comes from the app's typeorm, which need not be the copy signalbus would import.
 */
export function isDataSource(value: unknown): value is DataSource {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    (value as Record<string, unknown>)['@instanceof'] === Symbol.for('DataSource')
  )
}

/** The DataSource a query runner or entity manager belongs to: `.dataSource` in 1.x, `.connection` in 0.3. */
export function dataSourceOf(owner: QueryRunner | EntityManager): DataSource {
  const named = owner as {dataSource?: DataSource; connection?: DataSource}
  const dataSource = named.dataSource ?? named.connection
  if (dataSource === undefined) throw new TypeError('This TypeORM query runner or entity manager names no DataSource.')
  return dataSource
}

const ALL_LEVELS: readonly IsolationLevel[] = ['READ UNCOMMITTED', 'READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE']
const SQLITE_LEVELS: readonly IsolationLevel[] = ['READ UNCOMMITTED', 'SERIALIZABLE']

/**
 * What TypeORM 1.x's drivers declare as `supportedIsolationLevels`, for 0.3's drivers, which accept the same
 * levels but do not say so. A type missing here (and from the driver) supports no level signalbus would choose.
 */
const ISOLATION_LEVELS_BY_TYPE: Record<string, readonly IsolationLevel[]> = {
  postgres: ALL_LEVELS,
  'aurora-postgres': ALL_LEVELS,
  cockroachdb: ALL_LEVELS,
  mysql: ALL_LEVELS,
  mariadb: ALL_LEVELS,
  mssql: ALL_LEVELS,
  sap: ['READ COMMITTED', 'REPEATABLE READ', 'SERIALIZABLE'],
  spanner: ['REPEATABLE READ', 'SERIALIZABLE'],
  oracle: ['READ COMMITTED', 'SERIALIZABLE'],
  'better-sqlite3': SQLITE_LEVELS,
  sqlite: SQLITE_LEVELS,
  sqljs: SQLITE_LEVELS,
  capacitor: SQLITE_LEVELS,
  expo: SQLITE_LEVELS,
  nativescript: SQLITE_LEVELS,
  'react-native': SQLITE_LEVELS,
}

/** The data source's `isolationLevel` option: a 1.x option (0.3 has none, so it is normally unset there). */
export function configuredIsolationLevel(dataSource: DataSource): string | undefined {
  return (dataSource.options as {isolationLevel?: string}).isolationLevel
}

/** The isolation levels `startTransaction()` accepts on this data source: the driver's list (1.x), else the table. */
export function supportedIsolationLevels(dataSource: DataSource): readonly string[] {
  const declared = (dataSource.driver as {supportedIsolationLevels?: readonly string[]}).supportedIsolationLevels
  return declared ?? ISOLATION_LEVELS_BY_TYPE[dataSource.options.type] ?? []
}

type AbstractLoggerClass = abstract new (...args: ConstructorParameters<typeof AbstractLogger>) => AbstractLogger

/**
 * The `AbstractLogger` class of the data source's own typeorm, found through its console logger (every console
 * logger of 0.3 and 1.x extends it directly), so that a logger made from it is one that copy of TypeORM accepts.
 */
export function abstractLoggerOf(dataSource: DataSource): AbstractLoggerClass | undefined {
  const loggerClass = (dataSource.logger as object | undefined)?.constructor
  const parent: unknown = loggerClass ? Object.getPrototypeOf(loggerClass) : undefined
  const prototype = typeof parent === 'function' ? (parent.prototype as Record<string, unknown>) : undefined
  return typeof prototype?.['prepareLogMessages'] === 'function' ? (parent as AbstractLoggerClass) : undefined
}

/** The typeorm package a module in `directory` imports, as Node would find it; undefined when there is none. */
export function typeormPackageFrom(directory: string): {version: string; packageJson: string} | undefined {
  const require = createRequire(path.join(directory, 'noop.js'))
  // typeorm's "exports" hides package.json from require.resolve: look in the node_modules folders Node searches.
  for (const folder of require.resolve.paths('typeorm') ?? []) {
    const packageJson = path.join(folder, 'typeorm', 'package.json')
    if (!existsSync(packageJson)) continue
    const version = versionIn(packageJson)
    return version === undefined ? undefined : {version, packageJson}
  }
  return undefined
}

/** An unreadable package.json says nothing: loading the data source will then say what is wrong. */
function versionIn(packageJson: string): string | undefined {
  try {
    const parsed = JSON.parse(readFileSync(packageJson, 'utf8')) as {version?: unknown}
    return typeof parsed.version === 'string' ? parsed.version : undefined
  } catch {
    return undefined
  }
}

/** True when `version` is in SUPPORTED_TYPEORM_RANGE (a prerelease counts as below its release, as in semver). */
export function isSupportedTypeormVersion(version: string): boolean {
  const match = /^(\d+)\.(\d+)\.(\d+)(-.+)?$/.exec(version.trim())
  if (!match) return false
  const [major, minor, patch] = [Number(match[1]), Number(match[2]), Number(match[3])]
  const prerelease = match[4] !== undefined
  if (major === 0) return minor === 3 && (patch > 20 || (patch === 20 && !prerelease))
  return major === 1 && !(minor === 0 && patch === 0 && prerelease)
}

/** Which typeorm a data source file gets, for --verbose. */
export function describeTypeormFor(dataSourceFile: string): string {
  const found = typeormPackageFrom(path.dirname(dataSourceFile))
  return found === undefined ? 'no typeorm found from its directory' : `typeorm ${found.version} from ${path.dirname(found.packageJson)}`
}

/**
 * Refuses, with one line, a data source file whose typeorm signalbus does not support: better than a crash in
 * the first burst. A file that imports no typeorm at all is left to fail when it is loaded.
 */
export function assertSupportedTypeormFor(dataSourceFile: string): void {
  const found = typeormPackageFrom(path.dirname(dataSourceFile))
  if (found === undefined || isSupportedTypeormVersion(found.version)) return
  throw new SignalbusConfigError(
    `typeorm ${found.version} (${found.packageJson}) is not supported: signalbus works with typeorm ${SUPPORTED_TYPEORM_RANGE}.`,
  )
}

/**
 * The same refusal for a library user, who hands over the DataSource object and no file: what signalbus needs
 * from it, checked by feature (a TypeORM 0.2 `Connection`, or anything else, has no DataSource marker).
 */
export function assertSupportedDataSource(value: unknown): asserts value is DataSource {
  const usable =
    isDataSource(value) &&
    typeof value.createQueryRunner === 'function' &&
    typeof value.driver?.escape === 'function' &&
    Array.isArray(value.entityMetadatas)
  if (!usable) {
    throw new SignalbusConfigError(`SignalBus needs a TypeORM DataSource (typeorm ${SUPPORTED_TYPEORM_RANGE}).`)
  }
}
