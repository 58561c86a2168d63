// The `"signalbus": {…}` settings of the nearest package.json above the working directory (dataSource,
// envFile), each path resolved against that package.json's directory.
import {readFile, stat} from 'node:fs/promises'
import path from 'node:path'
import {SignalbusConfigError, describeError} from '../errors.js'

export interface PackageSettings {
  /** The package.json the settings came from. */
  file: string
  settings: Record<string, unknown>
}

/** The nearest package.json's "signalbus" object, if that file has one. */
export async function readPackageSettings(cwd: string): Promise<PackageSettings | undefined> {
  const file = await findNearestPackageJson(path.resolve(cwd))
  if (file === undefined) return undefined
  const settings = (await readPackageJson(file))['signalbus']
  if (settings === undefined || settings === null) return undefined
  if (typeof settings !== 'object' || Array.isArray(settings)) {
    throw new SignalbusConfigError(`"signalbus" in "${file}" must be an object, such as {"dataSource": "PATH"}.`)
  }
  return {file, settings: settings as Record<string, unknown>}
}

/** A path setting (`"signalbus": {"dataSource": …}`) resolved against its package.json's directory. */
export function settingPath(found: PackageSettings, name: string): string | undefined {
  const value = found.settings[name]
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value.trim() === '') {
    throw new SignalbusConfigError(`"signalbus.${name}" in "${found.file}" must be a path (a non-empty string).`)
  }
  return path.resolve(path.dirname(found.file), value)
}

/** A setting that is one path or an array of paths, each resolved against its package.json's directory. */
export function settingPaths(found: PackageSettings, name: string): string[] | undefined {
  const value = found.settings[name]
  if (value === undefined) return undefined
  const values = Array.isArray(value) ? (value as unknown[]) : [value]
  if (values.some((entry) => typeof entry !== 'string' || entry.trim() === '')) {
    throw new SignalbusConfigError(`"signalbus.${name}" in "${found.file}" must be a path or an array of paths (non-empty strings).`)
  }
  return values.map((entry) => path.resolve(path.dirname(found.file), entry as string))
}

/** The first package.json found walking up from `directory`, if any. */
export async function findNearestPackageJson(directory: string): Promise<string | undefined> {
  for (let dir = directory; ; dir = path.dirname(dir)) {
    const candidate = path.join(dir, 'package.json')
    if (await isFile(candidate)) return candidate
    if (path.dirname(dir) === dir) return undefined
  }
}

export async function readPackageJson(packageJsonPath: string): Promise<Record<string, unknown>> {
  try {
    const parsed: unknown = JSON.parse(await readFile(packageJsonPath, 'utf8'))
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {}
  } catch (error) {
    throw new SignalbusConfigError(`Could not read "${packageJsonPath}": ${describeError(error)}`, {cause: error})
  }
}

export async function isFile(filePath: string): Promise<boolean> {
  try {
    return (await stat(filePath)).isFile()
  } catch {
    return false
  }
}
