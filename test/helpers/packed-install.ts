// Packs the repository with `npm pack`, installs the tarball into scratch apps with `npm install`, and runs
// commands there (`npx signalbus …`) with an environment that says nothing about this repository.
import {existsSync} from 'node:fs'
import {cp} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {spawnAndCollect, type CliResult} from './run-cli.js'
import {repoRoot} from './paths.js'

/**
 * One npm cache shared by every run on this machine (and by the apps of one run, which install concurrently):
 * only the first run downloads; later ones install from it (--prefer-offline) without asking the registry.
 */
export const NPM_CACHE = path.join(tmpdir(), 'signalbus-packed-install-npm-cache')

export interface RunOptions {
  cwd: string
  env?: Record<string, string>
  timeoutMs: number
}

/** Runs `command` and collects its exit code and output; stderr lines npm itself adds (`npm warn …`) are left out of stderrLines. */
export function run(command: string, args: string[], options: RunOptions): Promise<CliResult> {
  return spawnAndCollect(command, args, {cwd: options.cwd, env: {...outsideEnv(), ...options.env}, timeoutMs: options.timeoutMs}).done
}

/** Like run, but rejects with the command's output unless it exits 0. */
export async function runOrThrow(command: string, args: string[], options: RunOptions): Promise<CliResult> {
  const result = await run(command, args, options)
  if (result.code !== 0) {
    throw new Error(`\`${command} ${args.join(' ')}\` in ${options.cwd} exited ${result.code ?? result.signal}:\n${result.stderr}${result.stdout}`)
  }
  return result
}

/**
 * The environment of a user's shell: without the npm_* variables `npm test` exports (npm would read them as its
 * own configuration, e.g. the prefix), without signalbus/ts-node settings, and without this repository's
 * node_modules/.bin on PATH (npx must find the app's `signalbus`, never ours).
 */
function outsideEnv(): Record<string, string> {
  const env: Record<string, string> = {}
  for (const [name, value] of Object.entries(process.env)) {
    if (value === undefined || /^(npm_|SIGNALBUS_|TS_NODE_)/i.test(name) || name === 'DEBUG' || name === 'NODE_OPTIONS') continue
    env[name] = value
  }
  env.PATH = (process.env.PATH ?? '')
    .split(path.delimiter)
    .filter((entry) => !entry.split(path.sep).includes('node_modules'))
    .join(path.delimiter)
  env.npm_config_cache = NPM_CACHE
  env.npm_config_update_notifier = 'false'
  return env
}

export interface PackedTarball {
  /** Absolute path of the .tgz. */
  file: string
  /** The paths inside the package, as `npm pack` lists them. */
  files: string[]
}

/** `npm pack` of the repository as built (dist/ and oclif.manifest.json must exist: `npm run build`). */
export async function packRepository(destination: string, timeoutMs: number): Promise<PackedTarball> {
  for (const built of ['dist/index.js', 'oclif.manifest.json']) {
    if (!existsSync(path.join(repoRoot, built))) throw new Error(`${built} is missing: run \`npm run build\` before this test.`)
  }
  const result = await runOrThrow('npm', ['pack', '--json', '--pack-destination', destination], {cwd: repoRoot, timeoutMs})
  const [packed] = JSON.parse(result.stdout) as Array<{filename: string; files: Array<{path: string}>}>
  return {file: path.join(destination, packed!.filename), files: packed!.files.map((file) => file.path)}
}

/** Copies a fixture app to `directory` and installs `packages` into it from the npm registry (through NPM_CACHE). */
export async function createApp(fixture: string, directory: string, packages: string[], timeoutMs: number): Promise<void> {
  await cp(fixture, directory, {recursive: true})
  await runOrThrow('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', ...packages], {
    cwd: directory,
    timeoutMs,
  })
}

/** The directory of the `typeorm` package that code in `fromDirectory` gets: one directory, one module instance. */
export function typeormPackageDirectory(fromDirectory: string): string {
  // typeorm's entry point (index.js; index.mjs merely re-exports it) is at the package's root.
  return path.dirname(createRequire(path.join(fromDirectory, 'index.js')).resolve('typeorm'))
}
