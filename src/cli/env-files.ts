// Environment files (`--env-file PATH`, or `"signalbus": {"envFile": …}` in package.json), loaded before the
// data source is imported, the way apps keep their database settings in `.env`.
import {readFile, stat} from 'node:fs/promises'
import path from 'node:path'
import {parseEnv} from 'node:util'
import {SignalbusConfigError, describeError} from '../errors.js'
import {readPackageSettings, settingPaths} from './package-settings.js'

/** The files named by the flags (relative to `cwd`), else by the nearest package.json (relative to it); none is fine. */
export async function resolveEnvFiles(flags: readonly string[] | undefined, cwd: string): Promise<string[]> {
  if (flags !== undefined && flags.length > 0) return flags.map((file) => path.resolve(cwd, file))
  const found = await readPackageSettings(cwd)
  return (found === undefined ? undefined : settingPaths(found, 'envFile')) ?? []
}

/**
 * Sets the variables of `files` in `env`. A variable already set in the environment wins over every file (a
 * deployment overrides the checked-in `.env`); between files, a later file wins over an earlier one. Returns the
 * names that were set. A missing or unreadable file is a configuration error, and nothing is set then.
 */
export async function loadEnvFiles(files: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const fromFiles: Record<string, string> = {}
  for (const file of files) Object.assign(fromFiles, await parseEnvFile(file))
  const set = Object.keys(fromFiles).filter((name) => env[name] === undefined)
  for (const name of set) env[name] = fromFiles[name]
  return set
}

async function parseEnvFile(file: string): Promise<Record<string, string>> {
  const stats = await stat(file).catch(() => undefined)
  if (stats === undefined) throw new SignalbusConfigError(`Environment file "${file}" does not exist.`)
  if (!stats.isFile()) throw new SignalbusConfigError(`Environment file "${file}" is not a file.`)
  try {
    return parseEnv(await readFile(file, 'utf8')) as Record<string, string>
  } catch (error) {
    throw new SignalbusConfigError(`Could not read environment file "${file}": ${describeError(error)}`, {cause: error})
  }
}

/** What to add to the one line of a data source that failed to load or initialize: which env files were loaded. */
export function envFilesNote(files: readonly string[], cwd: string): string {
  if (files.length === 0) return ' (no environment file was loaded: pass --env-file PATH if the data source reads one)'
  const names = files.map((file) => path.relative(cwd, file) || file)
  return ` (environment file${files.length === 1 ? '' : 's'} loaded: ${names.join(', ')})`
}
