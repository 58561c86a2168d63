// CommonJS loading of TypeScript files (require hooks): `.ts`/`.cts` compiled by transpile.ts, tsconfig
// `paths`/`baseUrl` aliases and `./x.js` naming `./x.ts` resolved. Installed once per process, in the main thread.
import {readFileSync} from 'node:fs'
import Module from 'node:module'
import {aliasCandidates, isInNodeModules} from './path-aliases.js'
import {transpile, type TranspileSettings} from './transpile.js'

interface LoadableModule {
  _compile(code: string, filename: string): void
}

interface ModuleInternals {
  _extensions: Record<string, (module: LoadableModule, filename: string) => void>
  _resolveFilename(request: string, parent: {filename?: string | null} | undefined, isMain: boolean, options?: unknown): string
}

export const TYPESCRIPT_EXTENSIONS = ['.ts', '.cts', '.tsx']
const JS_TO_TS: Record<string, string[]> = {'.js': ['.ts', '.tsx'], '.cjs': ['.cts'], '.mjs': ['.mts'], '.jsx': ['.tsx']}

let installed = false

/** Installs the require hooks, once: later calls (another data source in the same process) change nothing. */
export function installCommonjsHooks(settings: TranspileSettings): void {
  if (installed) return
  installed = true
  const internals = Module as unknown as ModuleInternals
  for (const extension of TYPESCRIPT_EXTENSIONS) {
    internals._extensions[extension] = (module, filename) => {
      module._compile(transpile(settings, filename, readFileSync(filename, 'utf8'), 'commonjs'), filename)
    }
  }
  const resolve = internals._resolveFilename.bind(Module)
  internals._resolveFilename = (request, parent, isMain, options) => {
    if (!isInNodeModules(parent?.filename ?? undefined)) {
      for (const candidate of aliasCandidates(settings.project, request)) {
        const found = tryResolve(resolve, candidate, parent, isMain, options) ?? resolveTypescriptTwin(resolve, candidate, parent, isMain, options)
        if (found !== undefined) return found
      }
    }
    try {
      return resolve(request, parent, isMain, options)
    } catch (error) {
      const typescriptTwin = resolveTypescriptTwin(resolve, request, parent, isMain, options)
      if (typescriptTwin !== undefined) return typescriptTwin
      throw error
    }
  }
}

/** `./entity.js` written for a TypeScript file `./entity.ts` (moduleResolution node16/nodenext style). */
function resolveTypescriptTwin(
  resolve: ModuleInternals['_resolveFilename'],
  request: string,
  ...rest: [parent: {filename?: string | null} | undefined, isMain: boolean, options?: unknown]
): string | undefined {
  const extension = Object.keys(JS_TO_TS).find((candidate) => request.endsWith(candidate))
  if (extension === undefined || !(request.startsWith('.') || request.startsWith('/'))) return undefined
  for (const replacement of JS_TO_TS[extension]!) {
    const found = tryResolve(resolve, request.slice(0, -extension.length) + replacement, ...rest)
    if (found !== undefined) return found
  }
  return undefined
}

function tryResolve(
  resolve: ModuleInternals['_resolveFilename'],
  request: string,
  ...rest: [parent: {filename?: string | null} | undefined, isMain: boolean, options?: unknown]
): string | undefined {
  try {
    return resolve(request, ...rest)
  } catch {
    return undefined
  }
}
