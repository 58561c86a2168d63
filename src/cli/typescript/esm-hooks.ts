// Node's module customization hooks (run in the loader thread, registered by register.ts) for ESM TypeScript:
// `.ts` in a "type": "module" package and `.mts` compiled by transpile.ts; `./x.js` naming `./x.ts`, extensionless
// relative imports, and tsconfig `paths`/`baseUrl` aliases resolved. CommonJS files go to the require hooks.
import {readFile} from 'node:fs/promises'
import {fileURLToPath, pathToFileURL} from 'node:url'
import {aliasCandidates, isInNodeModules} from './path-aliases.js'
import {transpile, type TranspileSettings} from './transpile.js'
import {moduleSystemOf} from './module-system.js'

interface ResolveContext {
  parentURL?: string
  conditions?: string[]
  importAttributes?: Record<string, string>
}
interface ResolveResult {
  url: string
  format?: string | null
  shortCircuit?: boolean
}
type NextResolve = (specifier: string, context?: ResolveContext) => Promise<ResolveResult>
interface LoadContext {
  format?: string | null
  conditions?: string[]
}
interface LoadResult {
  format: string
  source?: string | Buffer | null
  shortCircuit?: boolean
}
type NextLoad = (url: string, context?: LoadContext) => Promise<LoadResult>

let settings: TranspileSettings

export function initialize(data: TranspileSettings): void {
  settings = data
}

const TYPESCRIPT_FILE = /\.(ts|mts|cts|tsx)$/
const JS_TO_TS: Array<[RegExp, string[]]> = [
  [/\.js$/, ['.ts', '.tsx']],
  [/\.mjs$/, ['.mts']],
  [/\.cjs$/, ['.cts']],
  [/\.jsx$/, ['.tsx']],
]
const EXTENSIONLESS = ['.ts', '.tsx', '.mts', '.js', '/index.ts', '/index.js']

export async function resolve(specifier: string, context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult> {
  const parentFile = context.parentURL?.startsWith('file:') ? fileURLToPath(context.parentURL) : undefined
  if (!isInNodeModules(parentFile)) {
    for (const candidate of aliasCandidates(settings.project, specifier)) {
      const found = await firstResolvable(filesFor(pathToFileURL(candidate).href), context, nextResolve)
      if (found !== undefined) return found
    }
  }
  try {
    return await nextResolve(specifier, context)
  } catch (error) {
    const relative = specifier.startsWith('./') || specifier.startsWith('../') || specifier.startsWith('file:') || specifier.startsWith('/')
    if (!relative || (error as {code?: string}).code !== 'ERR_MODULE_NOT_FOUND') throw error
    const found = await firstResolvable(filesFor(specifier).slice(1), context, nextResolve)
    if (found !== undefined) return found
    throw error
  }
}

/** The specifier itself, its TypeScript twins (`x.js` → `x.ts`), or for one without extension, `x.ts`, `x/index.ts` …. */
function filesFor(specifier: string): string[] {
  for (const [pattern, replacements] of JS_TO_TS) {
    if (pattern.test(specifier)) return [specifier, ...replacements.map((replacement) => specifier.replace(pattern, replacement))]
  }
  if (/\.[a-z]+$/i.test(specifier.split('/').pop() ?? '')) return [specifier]
  return [specifier, ...EXTENSIONLESS.map((extension) => specifier + extension)]
}

async function firstResolvable(specifiers: string[], context: ResolveContext, nextResolve: NextResolve): Promise<ResolveResult | undefined> {
  for (const candidate of specifiers) {
    try {
      return await nextResolve(candidate, context)
    } catch {
      // Not this one: the next candidate.
    }
  }
  return undefined
}

export async function load(url: string, context: LoadContext, nextLoad: NextLoad): Promise<LoadResult> {
  if (!url.startsWith('file:') || !TYPESCRIPT_FILE.test(new URL(url).pathname)) return nextLoad(url, context)
  const file = fileURLToPath(url)
  if (moduleSystemOf(file) === 'commonjs') {
    // No source: Node hands the file to the CommonJS loader, whose require hooks compile it.
    return {format: 'commonjs', shortCircuit: true}
  }
  const source = await readFile(file, 'utf8')
  return {format: 'module', source: transpile(settings, file, source, 'esm'), shortCircuit: true}
}
