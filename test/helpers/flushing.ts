// What the CLI tests of the flushing commands share: bounded polling, what the children sent and what is
// still pending, and telling from outside (without taking row locks) that a child is in the middle of a burst.
import {expect} from 'chai'
import type {ChildProcess} from 'node:child_process'
import type {EntityTarget, ObjectLiteral} from 'typeorm'
import type {SentRecord} from '../fixtures/signals/test-controls.js'
import type {CliResult} from './run-cli.js'
import {readSentLog, type TestDatabase} from './test-database.js'

export interface WaitOptions {
  timeoutMs?: number
  intervalMs?: number
}

/** Polls `probe` until it returns a value other than undefined/false; fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  {timeoutMs = 10_000, intervalMs = 25}: WaitOptions = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined && value !== false) return value
    if (performance.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`)
    await delay(intervalMs)
  }
}

/** What a running child has written so far, and whether it has exited. */
export interface Watched {
  stdout: string
  stderr: string
  exited: boolean
  /**
   * Throws (with what the child wrote) if it exited or wrote to stderr, since waiting for it to progress would be
   * in vain; else returns false, so that a polling probe can end in `|| watched.assertRunningQuietly()`.
   */
  assertRunningQuietly(): false
}

export function watch(started: {child: ChildProcess; done: Promise<unknown>}): Watched {
  const watched: Watched = {
    stdout: '',
    stderr: '',
    exited: false,
    assertRunningQuietly() {
      if (watched.stderr !== '') throw new Error(`the CLI wrote to stderr: ${watched.stderr}`)
      if (watched.exited) throw new Error(`the CLI exited early; stdout: ${watched.stdout}`)
      return false
    },
  }
  started.child.stdout!.on('data', (chunk: Buffer) => (watched.stdout += chunk.toString()))
  started.child.stderr!.on('data', (chunk: Buffer) => (watched.stderr += chunk.toString()))
  void started.done.then(() => (watched.exited = true))
  return watched
}

export function delay(milliseconds: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, milliseconds))
}

/** The summary line of a flushing command without --json. */
export function summaryLine(sent: number): string {
  return `${sent} ${sent === 1 ? 'signal has' : 'signals have'} been successfully processed.`
}

/** Exit 0, the summary line alone on stdout, nothing on stderr. */
export function expectProcessed(result: CliResult, sent: number): void {
  expect(result.stderrLines, 'stderr').to.deep.equal([])
  expect(result.stdout, 'stdout').to.equal(`${summaryLine(sent)}\n`)
  expect(result.code, 'exit code').to.equal(0)
}

/** The given exit code, nothing on stdout, exactly one `Error: …` line on stderr; returns that line. */
export function expectOneErrorLine(result: CliResult, code: number): string {
  expect(result.stderrLines, 'stderr').to.have.length(1)
  expect(result.stderrLines[0], 'stderr').to.match(/^Error: \S/)
  expect(result.stdout, 'stdout').to.equal('')
  expect(result.code, 'exit code').to.equal(code)
  return result.stderrLines[0]!
}

export interface FlushJson {
  sent: number
  models: Record<string, number>
  failed: Array<{model: string; error: string}>
  failedSignals: Record<
    string,
    {pending: number; deadLettered: number; firstPending: {key: string; error: string} | null; firstDeadLettered: {key: string; error: string} | null}
  >
  deadLettered: number
  seconds: number
}

/** Every stdout line parsed as the flushing commands' JSON object (its shape checked). */
export function flushJsonLines(stdout: string): FlushJson[] {
  const lines = stdout.split('\n').filter((line) => line.length > 0)
  return lines.map((line) => {
    const parsed = JSON.parse(line) as FlushJson
    expect(parsed, line).to.have.all.keys('sent', 'models', 'failed', 'failedSignals', 'deadLettered', 'seconds')
    expect(parsed.sent, 'sent').to.be.a('number')
    expect(parsed.models, 'models').to.be.an('object')
    expect(parsed.failed, 'failed').to.be.an('array')
    expect(parsed.failedSignals, 'failedSignals').to.be.an('object')
    expect(parsed.deadLettered, 'deadLettered').to.be.a('number')
    expect(parsed.seconds, 'seconds').to.be.a('number').and.to.be.at.least(0)
    return parsed
  })
}

/** The one JSON line a one-shot flushing command prints. */
export function flushJson(stdout: string): FlushJson {
  const lines = flushJsonLines(stdout)
  expect(lines, `one JSON line on stdout: ${stdout}`).to.have.length(1)
  return lines[0]!
}

/** `p<from>` … `p<from + count - 1>`, the payloads TestDatabase.insertSignals gives. */
export function signalPayloads(count: number, from = 0): string[] {
  return Array.from({length: count}, (_, index) => `p${from + index}`)
}

export function sentPayloads(records: SentRecord[], model = 'Signal'): string[] {
  return records.filter((record) => record.model === model).map((record) => record.payload)
}

/** What the children logging to `files` sent, all together. */
export function readSentLogs(files: string[]): SentRecord[] {
  return files.flatMap((file) => readSentLog(file))
}

/** The payloads of the rows still in the model's table. */
export async function pendingPayloads(db: TestDatabase, entity: EntityTarget<ObjectLiteral>): Promise<string[]> {
  const rows = await db.dataSource.getRepository(entity).find()
  return rows.map((row) => String(row['payload']))
}

/** Sorts payloads such as p10, p9 by their number (a readable failure diff). */
export function byNumber(payloads: string[]): string[] {
  return [...payloads].sort((a, b) => Number(a.replace(/\D/g, '')) - Number(b.replace(/\D/g, '')) || a.localeCompare(b))
}

/**
 * True while another connection holds an open transaction that claimed rows of the model's table (a flusher
 * between claim and commit). It reads without locking, so it never makes a flusher skip rows:
 * PostgreSQL — a backend idle in transaction whose last statement names the table;
 * MariaDB — a dirty read sees fewer rows than a committed read (the claim deletes inside its transaction);
 * SQLite — the single write lock is taken (BEGIN IMMEDIATE fails at once); this uses the test's one connection,
 * so nothing else in the test may write to the database while it runs.
 */
export async function burstInProgress(db: TestDatabase, entity: EntityTarget<ObjectLiteral>): Promise<boolean> {
  const metadata = db.dataSource.getMetadata(entity)
  switch (db.dialect) {
    case 'postgres': {
      const rows = (await db.dataSource.query(
        `SELECT COUNT(*) AS n FROM pg_stat_activity
         WHERE state = 'idle in transaction' AND pid <> pg_backend_pid() AND strpos(query, $1) > 0`,
        [`"${metadata.tableName}"`],
      )) as Array<{n: string}>
      return Number(rows[0]!.n) > 0
    }
    case 'mariadb': {
      const table = db.dataSource.driver.escape(metadata.tableName)
      const runner = db.dataSource.createQueryRunner()
      try {
        await runner.startTransaction('READ UNCOMMITTED')
        const dirty = (await runner.query(`SELECT COUNT(*) AS n FROM ${table}`)) as Array<{n: string}>
        await runner.commitTransaction()
        const committed = (await runner.query(`SELECT COUNT(*) AS n FROM ${table}`)) as Array<{n: string}>
        return Number(dirty[0]!.n) < Number(committed[0]!.n)
      } finally {
        await runner.release()
      }
    }
    case 'sqlite': {
      await db.dataSource.query('PRAGMA busy_timeout = 0')
      try {
        await db.dataSource.query('BEGIN IMMEDIATE')
      } catch (error) {
        if (/SQLITE_BUSY|database is locked/i.test(String((error as Error).message))) return true
        throw error
      } finally {
        await db.dataSource.query('PRAGMA busy_timeout = 5000')
      }
      await db.dataSource.query('ROLLBACK')
      return false
    }
  }
}

/** Calls `step` every `intervalMs` (never two at once) until stopped; `stop()` waits for the step in flight. */
export function repeatInBackground(intervalMs: number, step: () => Promise<void>): {stop: () => Promise<void>} {
  let stopped = false
  let failure: unknown
  const loop = (async () => {
    while (!stopped) {
      try {
        await step()
      } catch (error) {
        failure = error
        return
      }
      await delay(intervalMs)
    }
  })()
  return {
    stop: async () => {
      stopped = true
      await loop
      if (failure !== undefined) throw failure
    },
  }
}
