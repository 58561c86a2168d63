// Runs the real `signalbus` binary in a child process, the way cron would, and collects what it did.
import {spawn, type ChildProcess} from 'node:child_process'
import {join} from 'node:path'
import {repoRoot} from './paths.js'

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  /** stderr without the npm/Node noise a user's environment may add. */
  stderrLines: string[]
  milliseconds: number
}

export interface CliOptions {
  env?: Record<string, string>
  cwd?: string
  /** Kill the child after this long (a test must never hang). */
  timeoutMs?: number
}

const BIN = join(repoRoot, 'bin', 'run.js')

export function startCli(args: string[], options: CliOptions = {}): {child: ChildProcess; done: Promise<CliResult>} {
  return spawnAndCollect(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? repoRoot,
    env: {...cleanEnv(), ...options.env},
    timeoutMs: options.timeoutMs ?? 90_000,
  })
}

/** Starts a command and collects its exit, stdout and stderr; kills it after `timeoutMs` so no test can hang. */
export function spawnAndCollect(
  command: string,
  args: string[],
  options: {cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number},
): {child: ChildProcess; done: Promise<CliResult>} {
  const started = performance.now()
  const child = spawn(command, args, {cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe']})
  let stdout = ''
  let stderr = ''
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
  const done = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      resolve({
        code,
        signal,
        stdout,
        stderr,
        stderrLines: stderr.split('\n').filter((line) => line.length > 0 && !line.startsWith('npm warn')),
        milliseconds: performance.now() - started,
      })
    })
  })
  return {child, done}
}

export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return startCli(args, options).done
}

/** Set for a whole test run (which MariaDB client the fixtures use), so children keep it. */
const RUN_WIDE = new Set(['SIGNALBUS_TEST_MYSQL_CONNECTOR'])

/** The parent's environment without variables that would change how the CLI behaves. */
function cleanEnv(): NodeJS.ProcessEnv {
  const env = {...process.env}
  for (const name of Object.keys(env)) if ((name.startsWith('SIGNALBUS_') && !RUN_WIDE.has(name)) || name === 'DEBUG') delete env[name]
  return env
}
