// Reads the tsconfig.json that governs a TypeScript data source (the nearest one above it, `extends` followed),
// without loading the TypeScript compiler: only what transpiling and module resolution need.
import {existsSync, readFileSync} from 'node:fs'
import {createRequire} from 'node:module'
import path from 'node:path'
import {SignalbusConfigError, describeError} from '../../errors.js'

/** What signalbus takes from a tsconfig: its merged compilerOptions and where `paths` and `baseUrl` point. */
export interface TsProject {
  /** The tsconfig.json found, or undefined when there is none (TypeScript's defaults apply). */
  configFile: string | undefined
  /** compilerOptions as written, merged along `extends` (the extending file wins), paths made absolute below. */
  compilerOptions: Record<string, unknown>
  /** Absolute `baseUrl`, if set. */
  baseUrl: string | undefined
  /** `paths` patterns with absolute substitutions, most specific pattern first. */
  paths: PathAlias[]
}

export interface PathAlias {
  /** The pattern as written, e.g. `src/*` or `@app/config`. */
  pattern: string
  /** Absolute substitutions, each with at most one `*`. */
  targets: string[]
}

/** The project of the nearest tsconfig.json above `directory` (walking up to the file system root). */
export function readTsProject(directory: string): TsProject {
  const configFile = findTsconfig(directory)
  if (configFile === undefined) return {configFile, compilerOptions: {}, baseUrl: undefined, paths: []}
  const merged = readMerged(configFile, [])
  const baseUrl = merged.baseUrl
  const pathsBase = baseUrl ?? merged.pathsDirectory
  const paths = Object.entries(merged.paths ?? {})
    .map(([pattern, targets]) => ({pattern, targets: targets.map((target) => path.resolve(pathsBase ?? path.dirname(configFile), target))}))
    .sort((a, b) => specificity(b.pattern) - specificity(a.pattern))
  return {configFile, compilerOptions: merged.compilerOptions, baseUrl, paths}
}

/** TypeScript prefers an exact pattern, then the wildcard pattern with the longest prefix. */
function specificity(pattern: string): number {
  const star = pattern.indexOf('*')
  return star === -1 ? Number.MAX_SAFE_INTEGER : star
}

function findTsconfig(directory: string): string | undefined {
  for (let dir = path.resolve(directory); ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'tsconfig.json')
    if (existsSync(candidate)) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

interface Merged {
  compilerOptions: Record<string, unknown>
  baseUrl?: string
  paths?: Record<string, string[]>
  /** The directory of the file that declared `paths` (their base when there is no baseUrl). */
  pathsDirectory?: string
}

function readMerged(configFile: string, seen: string[]): Merged {
  if (seen.includes(configFile)) {
    throw new SignalbusConfigError(`tsconfig "${configFile}" extends itself (${[...seen, configFile].join(' → ')}).`)
  }
  const config = parseJsonc(configFile)
  const merged: Merged = {compilerOptions: {}}
  const parents = config['extends'] === undefined ? [] : Array.isArray(config['extends']) ? config['extends'] : [config['extends']]
  for (const parent of parents) {
    if (typeof parent !== 'string') throw new SignalbusConfigError(`"extends" in "${configFile}" must be a string or an array of strings.`)
    mergeInto(merged, readMerged(resolveExtends(parent, configFile), [...seen, configFile]))
  }
  const own = config['compilerOptions']
  if (typeof own === 'object' && own !== null && !Array.isArray(own)) {
    const options = {...(own as Record<string, unknown>)}
    const directory = path.dirname(configFile)
    const layer: Merged = {compilerOptions: options}
    if (typeof options['baseUrl'] === 'string') layer.baseUrl = path.resolve(directory, options['baseUrl'])
    if (isPaths(options['paths'])) {
      layer.paths = options['paths']
      layer.pathsDirectory = directory
    }
    delete options['baseUrl']
    delete options['paths']
    mergeInto(merged, layer)
  }
  return merged
}

function mergeInto(target: Merged, layer: Merged): void {
  Object.assign(target.compilerOptions, layer.compilerOptions)
  if (layer.baseUrl !== undefined) target.baseUrl = layer.baseUrl
  if (layer.paths !== undefined) {
    target.paths = layer.paths
    target.pathsDirectory = layer.pathsDirectory
  }
}

function isPaths(value: unknown): value is Record<string, string[]> {
  return (
    typeof value === 'object' &&
    value !== null &&
    Object.values(value).every((targets) => Array.isArray(targets) && targets.every((target) => typeof target === 'string'))
  )
}

/** A relative or absolute path (".json" optional), else a package's file, as TypeScript resolves `extends`. */
function resolveExtends(specifier: string, fromConfig: string): string {
  const directory = path.dirname(fromConfig)
  if (specifier.startsWith('.') || path.isAbsolute(specifier)) {
    const file = path.resolve(directory, specifier)
    if (existsSync(file) || file.endsWith('.json')) return file
    return `${file}.json`
  }
  const require = createRequire(fromConfig)
  for (const candidate of [specifier, `${specifier}.json`, `${specifier}/tsconfig.json`]) {
    try {
      return require.resolve(candidate)
    } catch {
      // Try the next form.
    }
  }
  throw new SignalbusConfigError(`tsconfig "${fromConfig}" extends "${specifier}", which cannot be found.`)
}

/** tsconfig files are JSON with comments and trailing commas. */
function parseJsonc(file: string): Record<string, unknown> {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new SignalbusConfigError(`Could not read tsconfig "${file}": ${describeError(error)}`, {cause: error})
  }
  try {
    const parsed: unknown = JSON.parse(stripJsonComments(text))
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  } catch (error) {
    throw new SignalbusConfigError(`Could not parse tsconfig "${file}": ${describeError(error)}`, {cause: error})
  }
}

/** Removes comments and trailing commas outside strings, keeping everything else in place. */
export function stripJsonComments(text: string): string {
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!
    if (char === '"') {
      const start = i
      for (i++; i < text.length && text[i] !== '"'; i++) if (text[i] === '\\') i++
      out += text.slice(start, i + 1)
    } else if (char === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      out += '\n'
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 1
      out += ' '
    } else if (char === ',' && /^\s*[}\]]/.test(nextCode(text, i + 1))) {
      // A trailing comma: dropped.
    } else {
      out += char
    }
  }
  return out.replace(/^\uFEFF/, '')
}

/** The text after `from`, with leading comments skipped, enough to see what the next token is. */
function nextCode(text: string, from: number): string {
  let i = from
  for (;;) {
    while (i < text.length && /\s/.test(text[i]!)) i++
    if (text.startsWith('//', i)) {
      const end = text.indexOf('\n', i)
      i = end === -1 ? text.length : end
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2)
      i = end === -1 ? text.length : end + 2
    } else {
      return text.slice(i, i + 1)
    }
  }
}
