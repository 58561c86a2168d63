// Whether a TypeScript file is an ES module or CommonJS, by Node's rules: `.mts` and `.cts` say so, `.ts`
// follows the nearest package.json "type" (the tsconfig's `module` does not decide what Node loads).
import {readFileSync} from 'node:fs'
import path from 'node:path'
import type {ModuleSystem} from './transpile.js'

const typeByDirectory = new Map<string, ModuleSystem>()

export function moduleSystemOf(file: string): ModuleSystem {
  if (file.endsWith('.mts')) return 'esm'
  if (file.endsWith('.cts')) return 'commonjs'
  return packageTypeOf(path.dirname(file))
}

function packageTypeOf(directory: string): ModuleSystem {
  const known = typeByDirectory.get(directory)
  if (known !== undefined) return known
  let system: ModuleSystem
  const manifest = readManifest(path.join(directory, 'package.json'))
  if (manifest !== undefined) system = manifest['type'] === 'module' ? 'esm' : 'commonjs'
  else system = path.dirname(directory) === directory ? 'commonjs' : packageTypeOf(path.dirname(directory))
  typeByDirectory.set(directory, system)
  return system
}

function readManifest(file: string): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(readFileSync(file, 'utf8'))
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  } catch (error) {
    if ((error as {code?: string}).code === 'ENOENT') return undefined
    return {}
  }
}
