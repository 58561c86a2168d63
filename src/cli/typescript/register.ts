// Makes a TypeScript data source loadable: the require hooks always (TypeORM requires entity files of CommonJS
// apps), Node's ESM loader hooks too when the data source is an ES module. One tsconfig (the data source's
// nearest) and one transpiler serve the whole process, as with ts-node.
import {register} from 'node:module'
import path from 'node:path'
import {installCommonjsHooks} from './commonjs-hooks.js'
import {moduleSystemOf} from './module-system.js'
import {readTsProject} from './tsconfig.js'
import {cacheDirectoryFor, chooseTranspiler, type ModuleSystem, type TranspileSettings} from './transpile.js'

let registered: {settings: TranspileSettings; esm: boolean} | undefined

/** Registers the hooks for `file` (once per process; ESM hooks added if a later file needs them) and says how it will be loaded. */
export function registerTypescript(file: string, options: {sourceMaps: boolean}): {system: ModuleSystem; settings: TranspileSettings} {
  const system = moduleSystemOf(file)
  if (registered === undefined) {
    const settings: TranspileSettings = {
      project: readTsProject(path.dirname(file)),
      transpiler: chooseTranspiler(file),
      cacheDirectory: cacheDirectoryFor(file),
    }
    installCommonjsHooks(settings)
    // Compiled files carry inline source maps: with Node's source maps on, stack traces name the .ts lines.
    if (options.sourceMaps) process.setSourceMapsEnabled(true)
    registered = {settings, esm: false}
  }
  if (system === 'esm' && !registered.esm) {
    register(new URL('./esm-hooks.js', import.meta.url), {data: registered.settings})
    registered.esm = true
  }
  return {system, settings: registered.settings}
}


/** For --verbose: how TypeScript files are being compiled in this process, if any were. */
export function describeTypescriptLoading(): string | undefined {
  if (registered === undefined) return undefined
  const {transpiler, project, cacheDirectory} = registered.settings
  const name = transpiler.kind === 'swc' ? '@swc/core' : 'typescript'
  return (
    `TypeScript compiled with ${name} ${transpiler.version} (${transpiler.entry}), ` +
    `tsconfig ${project.configFile ?? 'none (defaults)'}, cache ${cacheDirectory ?? 'off'}`
  )
}
