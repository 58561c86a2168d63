// Runs a node script as a child process and measures it from outside (wall time) and inside (CPU seconds and
// peak RSS written by usage-hook.mjs at exit).
import {spawn} from 'node:child_process'
import {mkdtempSync, readFileSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {fileURLToPath} from 'node:url'

export const benchDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
export const repoRoot = path.resolve(benchDir, '..')
const usageHook = new URL('./usage-hook.mjs', import.meta.url).href
const scratch = mkdtempSync(path.join(tmpdir(), 'signalbus-bench-'))
let serial = 0

export const cliArgs = (...args) => [path.join(repoRoot, 'bin', 'run.js'), ...args]
export const caseScript = (name) => path.join(benchDir, 'cases', name)

/** Starts `node <args>`; `done` resolves with exit code, stdout, stderr, the last stdout line as JSON, wall and CPU time, peak RSS. */
export function startMeasured(args, {env = {}, timeoutMs = 600_000} = {}) {
  const usageFile = path.join(scratch, `usage-${++serial}.json`)
  const started = performance.now()
  const child = spawn(process.execPath, ['--import', usageHook, ...args], {
    cwd: repoRoot,
    env: {...process.env, ...env, BENCH_USAGE_FILE: usageFile},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const done = new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      const wallSeconds = (performance.now() - started) / 1000
      let usage = {userSeconds: NaN, systemSeconds: NaN, maxRssKB: NaN}
      try {
        usage = JSON.parse(readFileSync(usageFile, 'utf8'))
      } catch {
        // The child died before its exit hook ran; the caller sees the exit code.
      }
      const lastLine = stdout.trim().split('\n').at(-1) ?? ''
      let json
      try {
        json = JSON.parse(lastLine)
      } catch {
        json = undefined
      }
      resolve({
        code,
        stdout,
        stderr,
        json,
        wallSeconds,
        cpuSeconds: usage.userSeconds + usage.systemSeconds,
        userSeconds: usage.userSeconds,
        systemSeconds: usage.systemSeconds,
        peakRssMB: usage.maxRssKB / 1024,
      })
    })
  })
  return {child, done}
}

export const runMeasured = (args, options) => startMeasured(args, options).done

/** Throws with what the child printed unless it exited 0. */
export function assertSucceeded(what, result) {
  if (result.code === 0) return result
  throw new Error(`${what} exited ${result.code}\nstdout: ${result.stdout}\nstderr: ${result.stderr}`)
}

export function cleanUpScratch() {
  rmSync(scratch, {recursive: true, force: true})
}
