// Turns a TypeScript file into JavaScript with the fastest installed transpiler that emits decorator metadata
// (TypeORM needs it): SWC (@swc/core), else the TypeScript compiler's transpileModule. esbuild (tsx) emits none.
// Output is cached on disk by content, so a cron run whose files did not change loads no transpiler at all.
import {createHash} from 'node:crypto'
import {mkdirSync, readFileSync, renameSync, statSync, writeFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {SignalbusConfigError} from '../../errors.js'
import type {TsProject} from './tsconfig.js'

export type ModuleSystem = 'commonjs' | 'esm'
export type TranspilerKind = 'swc' | 'typescript'

/** Forces one transpiler (`swc` or `typescript`) instead of the fastest one installed. */
export const TRANSPILER_ENV = 'SIGNALBUS_TRANSPILER'
/** Where compiled files are cached (default node_modules/.cache/signalbus-ts), or `off`. */
export const CACHE_DIR_ENV = 'SIGNALBUS_TS_CACHE_DIR'

const PACKAGES: Record<TranspilerKind, string> = {swc: '@swc/core', typescript: 'typescript'}
/** Bumped when the way options are derived changes, so that older cache entries are not used. */
const CACHE_FORMAT = 2

export interface TranspilerInfo {
  kind: TranspilerKind
  /** The resolved entry point of the package. */
  entry: string
  version: string
}

/** Everything a loader (main thread or Node's loader thread) needs to transpile; plain data, cloneable. */
export interface TranspileSettings {
  project: TsProject
  transpiler: TranspilerInfo
  cacheDirectory: string | undefined
}

/**
 * SWC if the app has it, else TypeScript; looked up from the data source's directory (the app's), then from
 * signalbus's own installation. `SIGNALBUS_TRANSPILER` picks one.
 */
export function chooseTranspiler(fromFile: string, env: NodeJS.ProcessEnv = process.env): TranspilerInfo {
  const forced = env[TRANSPILER_ENV]?.trim()
  if (forced && forced !== 'swc' && forced !== 'typescript') {
    throw new SignalbusConfigError(`${TRANSPILER_ENV} must be "swc" or "typescript", not "${forced}".`)
  }
  const kinds: TranspilerKind[] = forced ? [forced as TranspilerKind] : ['swc', 'typescript']
  for (const from of [fromFile, import.meta.url]) {
    for (const kind of kinds) {
      const found = locate(kind, from)
      if (found !== undefined) return found
    }
  }
  const wanted = forced ? PACKAGES[forced as TranspilerKind] : '@swc/core (fastest) or typescript'
  throw new SignalbusConfigError(
    `Data source file "${fromFile}" is TypeScript, which needs ${wanted} in the app: npm install --save-dev ${forced ? PACKAGES[forced as TranspilerKind] : '@swc/core'}.`,
  )
}

function locate(kind: TranspilerKind, from: string): TranspilerInfo | undefined {
  const require = createRequire(from)
  try {
    const entry = require.resolve(PACKAGES[kind])
    const manifest = require.resolve(`${PACKAGES[kind]}/package.json`)
    const {version} = JSON.parse(readFileSync(manifest, 'utf8')) as {version: string}
    return {kind, entry, version}
  } catch {
    return undefined
  }
}

/** `SIGNALBUS_TS_CACHE_DIR`, else node_modules/.cache/signalbus-ts of the app, else one in the OS temp directory. */
export function cacheDirectoryFor(fromFile: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env[CACHE_DIR_ENV]?.trim()
  if (configured === 'off') return undefined
  if (configured) return path.resolve(configured)
  for (let dir = path.dirname(fromFile); ; dir = path.dirname(dir)) {
    const nodeModules = path.join(dir, 'node_modules')
    if (isDirectory(nodeModules)) return path.join(nodeModules, '.cache', 'signalbus-ts')
    if (path.dirname(dir) === dir) return path.join(tmpdir(), 'signalbus-ts-cache')
  }
}

function isDirectory(candidate: string): boolean {
  return statSync(candidate, {throwIfNoEntry: false})?.isDirectory() ?? false
}

/** The JavaScript for `file`, from the cache when this exact source was compiled with these settings before. */
export function transpile(settings: TranspileSettings, file: string, source: string, system: ModuleSystem): string {
  const key = cacheKey(settings, file, source, system)
  const cached = settings.cacheDirectory === undefined ? undefined : readCached(settings.cacheDirectory, key)
  if (cached !== undefined) return cached
  const code =
    settings.transpiler.kind === 'swc'
      ? transpileWithSwc(settings, file, source, system)
      : transpileWithTypescript(settings, file, source, system)
  if (settings.cacheDirectory !== undefined) writeCached(settings.cacheDirectory, key, code)
  return code
}

function cacheKey(settings: TranspileSettings, file: string, source: string, system: ModuleSystem): string {
  const {kind, version} = settings.transpiler
  const identity = JSON.stringify([CACHE_FORMAT, kind, version, system, file, settings.project.compilerOptions])
  return createHash('sha256').update(identity).update('\0').update(source).digest('hex')
}

function readCached(directory: string, key: string): string | undefined {
  try {
    return readFileSync(path.join(directory, `${key}.js`), 'utf8')
  } catch {
    return undefined
  }
}

/** Written under a temporary name and renamed: a concurrent flusher never reads half a file. Best effort. */
function writeCached(directory: string, key: string, code: string): void {
  try {
    mkdirSync(directory, {recursive: true})
    const temporary = path.join(directory, `${key}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`)
    writeFileSync(temporary, code)
    renameSync(temporary, path.join(directory, `${key}.js`))
  } catch {
    // A read-only file system: compile every time.
  }
}

const loaded = new Map<string, unknown>()

function loadTranspiler<T>(info: TranspilerInfo): T {
  if (!loaded.has(info.entry)) loaded.set(info.entry, createRequire(info.entry)(info.entry))
  return loaded.get(info.entry) as T
}

// ---- SWC -------------------------------------------------------------------------------------------------------

interface Swc {
  transformSync(source: string, options: Record<string, unknown>): {code: string}
}

const SWC_TARGETS = new Set(['es3', 'es5', 'es2015', 'es2016', 'es2017', 'es2018', 'es2019', 'es2020', 'es2021', 'es2022', 'esnext'])

/** TypeScript's own semantics, expressed as SWC options: legacy decorators, metadata, class fields, interop. */
export function swcOptions(compilerOptions: Record<string, unknown>, file: string, system: ModuleSystem): Record<string, unknown> {
  const target = typescriptTarget(compilerOptions)
  const legacyDecorators = compilerOptions['experimentalDecorators'] === true
  return {
    filename: file,
    swcrc: false,
    configFile: false,
    // Inline, so that stack traces (--verbose) point into the .ts file: register() enables Node's source maps.
    sourceMaps: 'inline',
    inlineSourcesContent: false,
    isModule: system === 'esm' ? true : 'unknown',
    jsc: {
      parser: {syntax: 'typescript', tsx: file.endsWith('.tsx'), decorators: true, dynamicImport: true},
      transform: {
        legacyDecorator: legacyDecorators,
        decoratorMetadata: legacyDecorators && compilerOptions['emitDecoratorMetadata'] === true,
        ...(legacyDecorators ? {} : {decoratorVersion: '2022-03'}),
        useDefineForClassFields: useDefineForClassFields(compilerOptions, target),
        verbatimModuleSyntax: system === 'esm' && compilerOptions['verbatimModuleSyntax'] === true,
      },
      target: SWC_TARGETS.has(target) ? target : 'es2022',
      keepClassNames: true,
    },
    module:
      system === 'commonjs'
        ? {type: 'commonjs', noInterop: compilerOptions['esModuleInterop'] !== true && compilerOptions['allowSyntheticDefaultImports'] !== true, ignoreDynamic: true}
        : {type: 'es6'},
  }
}

/** Lower-cased `target`; TypeScript 5 defaults to ES5 (only class-field semantics depend on it here). */
function typescriptTarget(compilerOptions: Record<string, unknown>): string {
  const target = compilerOptions['target']
  const value = typeof target === 'string' ? target.toLowerCase() : 'es5'
  return value === 'es6' ? 'es2015' : value
}

function useDefineForClassFields(compilerOptions: Record<string, unknown>, target: string): boolean {
  const explicit = compilerOptions['useDefineForClassFields']
  if (typeof explicit === 'boolean') return explicit
  return target === 'esnext' || (/^es(\d{4})$/.test(target) && Number(target.slice(2)) >= 2022)
}

function transpileWithSwc(settings: TranspileSettings, file: string, source: string, system: ModuleSystem): string {
  const swc = loadTranspiler<Swc>(settings.transpiler)
  try {
    return swc.transformSync(source, swcOptions(settings.project.compilerOptions, file, system)).code
  } catch (error) {
    throw new Error(swcMessage(error, file), {cause: error})
  }
}

/** SWC reports `  x Expression expected` and a drawn excerpt: told the way tsc tells it, `file(line,column): message`. */
function swcMessage(error: unknown, file: string): string {
  const text = error instanceof Error ? error.message : String(error)
  const plain = text.replace(/\u001b\[[0-9;]*m/g, '')
  const message = /^\s*[x×] (.+)$/m.exec(plain)?.[1]
  const location = /,-\[[^\]]*?:(\d+):(\d+)\]/.exec(plain)
  if (message === undefined) return `${path.basename(file)}: ${plain.trim()}`
  return `${path.basename(file)}${location ? `(${location[1]},${location[2]})` : ''}: ${message}`
}

// ---- TypeScript -----------------------------------------------------------------------------------------------

interface TypescriptApi {
  transpileModule(source: string, options: Record<string, unknown>): {outputText: string; diagnostics?: unknown[]}
  convertCompilerOptionsFromJson(json: unknown, basePath: string): {options: Record<string, unknown>}
  formatDiagnostics(diagnostics: unknown[], host: Record<string, unknown>): string
  ModuleKind: Record<string, number>
  ModuleResolutionKind: Record<string, number>
}

/** Options that only concern emitting files, checking or projects; transpileModule rejects or ignores them. */
const NOT_FOR_TRANSPILING = [
  'module', 'moduleResolution', 'declaration', 'declarationMap', 'emitDeclarationOnly', 'composite', 'incremental',
  'tsBuildInfoFile', 'outFile', 'sourceMap', 'inlineSourceMap', 'noEmit', 'importsNotUsedAsValues', 'preserveValueImports',
  'rootDir', 'rootDirs', 'outDir', 'declarationDir', 'types', 'typeRoots', 'lib',
]

function transpileWithTypescript(settings: TranspileSettings, file: string, source: string, system: ModuleSystem): string {
  const ts = loadTranspiler<TypescriptApi>(settings.transpiler)
  const json = {...settings.project.compilerOptions}
  for (const name of NOT_FOR_TRANSPILING) delete json[name]
  if (system === 'commonjs') delete json['verbatimModuleSyntax']
  const basePath = settings.project.configFile ? path.dirname(settings.project.configFile) : path.dirname(file)
  const options = ts.convertCompilerOptionsFromJson(json, basePath).options
  options['module'] = system === 'commonjs' ? ts.ModuleKind['CommonJS'] : ts.ModuleKind['ESNext']
  // `Node10` is TypeScript 5's name for what 4.x calls `NodeJs`.
  options['moduleResolution'] = ts.ModuleResolutionKind['Node10'] ?? ts.ModuleResolutionKind['NodeJs']
  options['inlineSourceMap'] = true
  const output = ts.transpileModule(source, {compilerOptions: options, fileName: file, reportDiagnostics: true})
  const errors = (output.diagnostics ?? []).filter((diagnostic) => (diagnostic as {category: number}).category === 1)
  if (errors.length > 0) {
    const host = {getCanonicalFileName: (name: string) => name, getCurrentDirectory: () => path.dirname(file), getNewLine: () => '\n'}
    throw new Error(ts.formatDiagnostics(errors, host).trim())
  }
  return output.outputText
}
