// The one flush engine: claims bursts of rows, hands them to the model's send method and commits, one
// transaction per burst. Every flushing command and library call goes through flushModel().
//
// Where the database allows two open transactions (PostgreSQL, MySQL), bursts overlap on two connections:
// while burst k is being sent, the other connection claims burst k+1, so the broker hardly waits for the
// database. Each burst still is one transaction, committed right after its own send returned; a burst claimed
// but not sent is rolled back when the send before it fails or when the flush is stopped. SQLite (one writer)
// runs the bursts one after the other. With `inFlight` N > 1 (the model's signalbusInFlight, --in-flight), up to N
// bursts are being sent at once, each in its own transaction on its own connection, committed as soon as its own
// send resolved; one more connection claims the next burst meanwhile (N + 1 in all). A crash then re-sends at most N
// bursts.
//
// A burst whose send fails for a reason of its signals' own (failure-scope.ts) is narrowed down: split in
// halves, each half claimed again by its keys and sent in a transaction of its own (a binary search, about one
// send per halving), until the signals whose own send fails are found. They stay pending, and the claims of this run leave them out; everything else is
// delivered. A systemic failure (broker, database), or sends that fail whatever the split, stop the model.
import type {DataSource, QueryRunner} from 'typeorm'
import type {FlushObserver} from '../flush-observer.js'
import type {Logger} from '../logger.js'
import type {SignalModel} from '../signal-model.js'
import type {ClaimFilter, Dialect} from './dialects/index.js'
import {isFatalConnectionError} from './dialects/dialect.js'
import {DatabaseError, SignalSendError, describeError} from '../errors.js'
import {FailingSignals} from './failing-signals.js'
import type {FailureOutcome, FailureRecorder} from './failure-recorder.js'
import {failureScope} from './failure-scope.js'
import {
  describeKey,
  describeTable,
  entityBuilder,
  keyOf,
  type EntityBuilder,
  type KeyValues,
  type RawRow,
  type SignalTable,
} from './signal-table.js'
import {OneByOneSendFailure, sendSignals} from './send-signals.js'
import {isOrdered} from './ordering.js'

const CLAIM_ATTEMPTS = 5
/**
 * Signals found failing on their own one after another, with no successful send between them: then it is not the
 * signals, it is whatever they are sent to (a send method that fails for every signal). The model stops, and
 * these signals are not counted as failing.
 */
export const SYSTEMIC_AFTER_ISOLATED = 5
/** More failing signals than this in one run stop the model: the exclusion lists of the claims stay small. */
export const MAX_FAILING_SIGNALS = 1000

export interface FlushModelOptions {
  /** Signals per transaction. */
  burst: number
  /** Stop after this many signals (for flush: those pending when it was called). */
  maxSignals?: number
  /**
   * Bursts being sent at once (default 1): the send of burst k+1 starts before burst k's send resolved. The model's
   * send methods must then be safe for concurrent calls. Ignored where bursts cannot overlap (SQLite).
   */
  inFlight?: number
  /** Checked between bursts: a burst in progress always finishes (commit or rollback). */
  signal?: AbortSignal
  onBurst?: (model: SignalModel, sent: number) => void
  /**
   * The model's signals known to fail. --repeat keeps one per model across rounds (each signal is tried again
   * alone when its own backoff has run out); without it, each call starts afresh.
   */
  failing?: FailingSignals
  /** With the engine's failure recorder: a signal's maxAttempts-th failure moves it to the dead letters. */
  maxAttempts?: number
  /** Told about each signal whose own send failed (after the fact that the failure is not systemic is known). */
  onSignalFailure?: (model: SignalModel, failure: SignalFailureEvent) => void
}

export interface SignalFailureEvent {
  /** The signal's key, as `id=250` or `shard=1,seq=7`. */
  readonly key: string
  readonly error: unknown
  /** 'dead-lettered' when the failure recorder moved it to the dead letters; else it stays pending. */
  readonly outcome: FailureOutcome
}

/** Rows claimed (deleted) inside a transaction that is still open on `runner`. */
interface Burst {
  readonly runner: QueryRunner
  readonly rows: RawRow[]
  /** How many rows were asked for. */
  readonly limit: number
  /** The claim shows that no more rows are free to claim (see claimExhausts). */
  readonly exhausted: boolean
  /** performance.now() when the claim began, for the observer's claim → commit duration. */
  readonly startedAt: number
}

/** A signal found failing on its own, not yet reported: that waits for a send that succeeds after it. */
interface Suspect {
  readonly row: RawRow
  readonly error: unknown
  /** Known to fail before this run (a retry): a systemic verdict leaves its record alone. */
  readonly wasKnown: boolean
}

/** A burst whose send failed for a reason of its signals' own; rolled back, its rows pending again. */
interface FailedBurst {
  readonly rows: RawRow[]
  readonly error: unknown
  /**
   * Sent one signal at a time: the first `delivered` rows were stored by the broker before the next one's own send
   * failed. Undefined for a batch send, which fails as a whole.
   */
  readonly delivered: number | undefined
}

/** The engine's error for a failed burst, with what a one-by-one send delivered before it failed. */
class BurstSendError extends SignalSendError {
  constructor(
    model: string,
    message: string,
    readonly delivered: number | undefined,
    options: {cause: unknown},
  ) {
    super(model, message, options)
  }
}

/** One flushModel() call: the model, its table, and what was claimed and sent (committed) so far. */
interface ModelRun {
  readonly model: SignalModel
  readonly table: SignalTable
  readonly toEntity: EntityBuilder
  readonly options: FlushModelOptions
  readonly failing: FailingSignals
  sent: number
  /** Rows claimed and not rolled back, plus signals found failing, for `maxSignals`. */
  claimed: number
  /** Connections with a burst transaction open: each must end in a commit or a rollback. */
  readonly open: Set<QueryRunner>
  readonly suspects: Suspect[]
  /** Sends that failed since the last one that succeeded. */
  failedSendsInARow: number
  /** More failed sends in a row than narrowing one burst can need mean that sends fail whatever the split. */
  readonly maxFailedSendsInARow: number
}

export class FlushEngine {
  private checkedServer: Promise<void> | undefined
  private readonly tables = new Map<SignalModel, SignalTable>()

  constructor(
    private readonly dataSource: DataSource,
    readonly dialect: Dialect,
    private readonly logger: Logger,
    private readonly failureRecorder?: FailureRecorder,
    private readonly observer: FlushObserver = {},
  ) {}

  /** The model's table for SQL; described once per model, since it depends only on entity metadata. */
  table(model: SignalModel): SignalTable {
    let table = this.tables.get(model)
    if (!table) {
      table = describeTable(this.dataSource, model.metadata, this.dialect.tableQualifier(model.metadata), model.orderingColumns)
      this.tables.set(model, table)
    }
    return table
  }

  /** Sends and deletes the model's pending signals, burst by burst; returns how many were sent. */
  async flushModel(model: SignalModel, options: FlushModelOptions): Promise<number> {
    const run: ModelRun = {
      model,
      table: this.table(model),
      toEntity: entityBuilder(this.dataSource, model.metadata),
      options,
      failing: options.failing ?? new FailingSignals(),
      sent: 0,
      claimed: 0,
      open: new Set(),
      suspects: [],
      failedSendsInARow: 0,
      maxFailedSendsInARow: Math.ceil(Math.log2(Math.max(1, options.burst))) + 2 * SYSTEMIC_AFTER_ISOLATED + 1,
    }
    const runner = this.dataSource.createQueryRunner()
    const spares: QueryRunner[] = []
    const spare = (): QueryRunner => {
      const created = this.dataSource.createQueryRunner()
      spares.push(created)
      return created
    }
    try {
      await this.checkServerOnce(runner)
      // An idle model costs one round trip (a sub-second --repeat stays cheap), not a claim and a commit; rows
      // due for a retry are pending rows too.
      if (this.nextLimit(run) === 0 || !(await this.anyPending(run, runner))) return 0
      await this.retryDueSignals(run, runner)
      const inFlight = this.dialect.overlapsBursts ? (options.inFlight ?? 1) : 1
      if (!this.dialect.overlapsBursts) await this.flushOneAfterAnother(run, runner)
      else if (inFlight > 1) await this.flushPasses(run, runner, () => this.passInFlight(run, runner, spare, inFlight))
      else await this.flushOverlapped(run, runner, () => (spares[0] ?? spare()))
      await this.reportSuspects(run)
      return run.sent
    } catch (error) {
      this.dropSuspects(run)
      throw error
    } finally {
      // Every path above ends its transactions; whatever failed, no connection goes back to the pool with one open.
      for (const open of [...run.open]) await this.rollbackRunnerQuietly(run, open)
      await runner.release()
      for (const created of spares) await created.release()
    }
  }

  private checkServerOnce(runner: QueryRunner): Promise<void> {
    this.checkedServer ??= this.dialect.checkServer(runner).catch((error: unknown) => {
      this.checkedServer = undefined
      throw error
    })
    return this.checkedServer
  }

  private async anyPending(run: ModelRun, runner: QueryRunner): Promise<boolean> {
    try {
      return await this.dialect.hasPending(runner, run.table)
    } catch (error) {
      throw databaseFailure(`Reading ${run.table.displayName}`, runner, error)
    }
  }

  /** How many rows the next burst may claim: 0 when stopped or when `maxSignals` are claimed. */
  private nextLimit(run: ModelRun): number {
    if (run.options.signal?.aborted) return 0
    return Math.max(0, Math.min(run.options.burst, (run.options.maxSignals ?? Infinity) - run.claimed))
  }

  /** Normal bursts leave out the signals known to fail. */
  private burstFilter(run: ModelRun): ClaimFilter | undefined {
    return run.failing.size === 0 ? undefined : {exclude: run.failing.keys()}
  }

  /** --repeat: each failing signal whose backoff ran out is tried again alone, before the normal bursts. */
  private async retryDueSignals(run: ModelRun, runner: QueryRunner): Promise<void> {
    for (const key of run.failing.due()) {
      if (run.options.signal?.aborted) return
      const failed = await this.sendKeys(run, runner, [key])
      if (failed?.rows.length) await this.isolate(run, failed.rows[0]!, failed.error)
      else run.failing.forget(key) // delivered, or no longer in the table
    }
  }

  private async flushOneAfterAnother(run: ModelRun, runner: QueryRunner): Promise<void> {
    for (;;) {
      const failed = await this.passOneAfterAnother(run, runner)
      if (!failed) return
      await this.handleFailedBurst(run, runner, failed)
    }
  }

  /** Bursts one after another until the table is drained or stopped; returns the first burst that failed on its own. */
  private async passOneAfterAnother(run: ModelRun, runner: QueryRunner): Promise<FailedBurst | undefined> {
    for (let limit = this.nextLimit(run); limit > 0; limit = this.nextLimit(run)) {
      const burst = await this.claim(run, runner, limit, this.burstFilter(run))
      if (burst.rows.length > 0) {
        const failed = await this.sendOrRollBack(run, burst)
        if (failed) return failed
      }
      await this.commit(run, burst)
      if (burst.exhausted) return undefined
    }
    return undefined
  }

  private async flushOverlapped(run: ModelRun, runner: QueryRunner, spare: () => QueryRunner): Promise<void> {
    for (;;) {
      const failed = await this.passOverlapped(run, runner, spare)
      if (!failed) return
      await this.handleFailedBurst(run, runner, failed)
    }
  }

  /** Passes until one ends without a failed burst; each failed burst is narrowed down (one send at a time) in between. */
  private async flushPasses(run: ModelRun, runner: QueryRunner, pass: () => Promise<FailedBurst | undefined>): Promise<void> {
    for (;;) {
      const failed = await pass()
      if (!failed) return
      await this.handleFailedBurst(run, runner, failed)
    }
  }

  /**
   * Up to `inFlight` bursts being sent at once, each on its own connection, plus one claimed behind them on another:
   * a burst's send starts as soon as fewer than `inFlight` are being sent, and each burst commits as soon as its own
   * send resolved. When a send fails or the flush is stopped, no new send starts: the bursts already being sent
   * finish (those whose send resolved commit: the broker has their rows), the one claimed and not sent is rolled back.
   * Returns the first failed burst (in claim order) to be narrowed down; a systemic failure is thrown once all sends
   * have ended.
   */
  private async passInFlight(
    run: ModelRun,
    runner: QueryRunner,
    spare: () => QueryRunner,
    inFlight: number,
  ): Promise<FailedBurst | undefined> {
    const free: QueryRunner[] = [runner]
    const sending = new Set<Promise<void>>()
    const failures: Array<{order: number; failed: FailedBurst}> = []
    let thrown: {error: unknown} | undefined
    let order = 0
    let ready: Burst | undefined
    let exhausted = false
    const stopped = (): boolean => thrown !== undefined || failures.length > 0 || Boolean(run.options.signal?.aborted)
    const start = (burst: Burst): void => {
      const position = order++
      const task = this.sendOrRollBack(run, burst)
        .then(async (failed) => {
          if (failed) failures.push({order: position, failed})
          else await this.commit(run, burst)
        })
        .catch((error: unknown) => {
          thrown ??= {error}
        })
        .finally(() => {
          sending.delete(task)
          free.push(burst.runner)
        })
      sending.add(task)
    }
    for (;;) {
      if (ready && stopped()) {
        await this.rollbackQuietly(run, ready)
        free.push(ready.runner)
        ready = undefined
      }
      if (ready && sending.size < inFlight) {
        start(ready)
        ready = undefined
        continue
      }
      if (!ready && !exhausted && !stopped()) {
        const limit = this.nextLimit(run)
        if (limit === 0) {
          exhausted = true
          continue
        }
        const claimed = await settle(this.claim(run, free.pop() ?? spare(), limit, this.burstFilter(run)))
        if (!claimed.ok) {
          thrown ??= {error: claimed.error}
          continue
        }
        const burst = claimed.value
        if (burst.exhausted) exhausted = true
        if (burst.rows.length > 0) ready = burst
        else {
          const committed = await settle(this.commit(run, burst))
          if (!committed.ok) thrown ??= {error: committed.error}
          free.push(burst.runner)
          // An ordered claim may find nothing only because the bursts in flight hold its keys (see claimExhausts):
          // claim again once one of them has ended.
          if (!exhausted && sending.size > 0) await Promise.race(sending)
        }
        continue
      }
      if (sending.size === 0) break
      await Promise.race(sending)
    }
    if (thrown) throw thrown.error
    failures.sort((a, b) => a.order - b.order)
    return failures[0]?.failed
  }

  /**
   * Sends burst k while the other connection claims burst k+1, then commits k and sends k+1. A burst is
   * committed as soon as its send returned, before the next send starts, so a crash re-sends at most one burst.
   * When a send fails, that burst and the one claimed behind it are rolled back (the failed one is returned, to be
   * narrowed down, unless the failure is systemic); when the flush is stopped, the burst claimed behind the last
   * one sent is rolled back.
   */
  private async passOverlapped(run: ModelRun, runner: QueryRunner, spare: () => QueryRunner): Promise<FailedBurst | undefined> {
    const limit = this.nextLimit(run)
    if (limit === 0) return undefined
    let current = await this.claim(run, runner, limit, this.burstFilter(run))
    let other: QueryRunner | undefined
    while (current.rows.length > 0) {
      const nextLimit = current.exhausted ? 0 : this.nextLimit(run)
      const [sending, claiming] = await Promise.all([
        settle(this.send(run, current)),
        nextLimit > 0 ? settle(this.claim(run, (other ??= spare()), nextLimit, this.burstFilter(run))) : undefined,
      ])
      const next = claiming?.ok ? claiming.value : undefined
      if (!sending.ok) {
        await this.rollbackQuietly(run, current, next)
        this.throwUnlessSignalsFailed(run, sending.error)
        if (claiming && !claiming.ok) throw claiming.error
        return failedBurst(current, sending.error)
      }
      try {
        await this.commit(run, current)
      } catch (error) {
        await this.rollbackQuietly(run, next)
        throw error
      }
      if (claiming && !claiming.ok) throw claiming.error
      if (!next) return undefined
      if (run.options.signal?.aborted) {
        await this.rollbackQuietly(run, next)
        return undefined
      }
      other = current.runner
      current = next
      // An ordered claim made while the burst before it was open may have found nothing only because that burst
      // held its keys: end it and claim again, now with nothing else of this run open (see claimExhausts).
      if (current.rows.length === 0 && !current.exhausted) {
        await this.commit(run, current)
        const again = this.nextLimit(run)
        if (again === 0) return undefined
        current = await this.claim(run, current.runner, again, this.burstFilter(run))
      }
    }
    // The last claim found nothing: end its empty transaction.
    await this.commit(run, current)
    return undefined
  }

  /**
   * A burst sent one signal at a time names its failing signal: the ones before it were stored by the broker and
   * are deleted without being sent again, the failing one is left out, the ones after it go back to the normal
   * bursts. A batch send is narrowed down.
   */
  private async handleFailedBurst(run: ModelRun, runner: QueryRunner, failed: FailedBurst): Promise<void> {
    if (failed.delivered === undefined) return this.narrow(run, runner, failed.rows, failed.error)
    const delivered = failed.rows.slice(0, failed.delivered)
    if (delivered.length > 0) {
      const burst = await this.claim(run, runner, delivered.length, {only: delivered.map((row) => keyOf(run.table, row))})
      await this.commit(run, burst)
    }
    const failing = failed.rows[failed.delivered]
    if (failing) await this.isolate(run, failing, failed.error)
  }

  /**
   * Finds the signals of a failed group whose own send fails, delivering the others, with about one send per
   * halving: the first half is claimed again by its keys and sent. If it succeeds, the failure is in the second
   * half, which is split in turn without being sent whole. If it fails, the search goes on inside it, and the
   * second half is set aside; everything set aside is sent together at the end (and searched the same way should
   * it fail too, when the group held more than one failing signal).
   */
  private async narrow(run: ModelRun, runner: QueryRunner, rows: RawRow[], failure: unknown): Promise<void> {
    const sentBefore = run.sent
    const setAside: RawRow[] = []
    await this.search(run, runner, rows, failure, setAside)
    let rest = setAside
    // Nothing was delivered while signals were found failing: the send method may fail for everything. Rows set
    // aside are then tried alone until one gets through, so that such a method costs single-row sends (and stops
    // the model after a few, see isolate) rather than another search.
    while (rest.length > 0 && run.sent === sentBefore && run.suspects.length > 0 && !run.options.signal?.aborted) {
      const failed = await this.sendKeys(run, runner, [keyOf(run.table, rest[0]!)])
      rest = rest.slice(1)
      if (failed) await this.handleFailedBurst(run, runner, failed)
    }
    if (rest.length === 0 || run.options.signal?.aborted) return
    const failed = await this.sendKeys(run, runner, rest.map((row) => keyOf(run.table, row)))
    if (failed) await this.handleFailedBurst(run, runner, failed)
  }

  /**
   * One step of the search. `failure` is the group's own failed send, or undefined when the group was only inferred
   * to fail (a single row is then sent alone first, to be sure).
   */
  private async search(run: ModelRun, runner: QueryRunner, rows: RawRow[], failure: unknown, setAside: RawRow[]): Promise<void> {
    if (rows.length === 0 || run.options.signal?.aborted) return
    if (rows.length === 1) {
      if (failure !== undefined) return this.isolate(run, rows[0]!, failure)
      const failed = await this.sendKeys(run, runner, [keyOf(run.table, rows[0]!)])
      if (failed?.rows.length) await this.isolate(run, failed.rows[0]!, failed.error)
      return
    }
    const middle = Math.ceil(rows.length / 2)
    const [first, second] = [rows.slice(0, middle), rows.slice(middle)]
    const firstFailed = await this.sendKeys(run, runner, first.map((row) => keyOf(run.table, row)))
    if (!firstFailed) return this.search(run, runner, second, undefined, setAside)
    setAside.push(...second)
    if (firstFailed.delivered !== undefined) return this.handleFailedBurst(run, runner, firstFailed)
    return this.search(run, runner, firstFailed.rows, firstFailed.error, setAside)
  }

  /**
   * Claims the rows with these keys (those still pending and not held by another flusher) and sends them in one
   * transaction. Returns undefined when they were delivered (or none was left), else the failed burst, rolled back.
   */
  private async sendKeys(run: ModelRun, runner: QueryRunner, keys: KeyValues[]): Promise<FailedBurst | undefined> {
    if (run.options.signal?.aborted) return undefined
    const burst = await this.claim(run, runner, keys.length, {only: keys})
    if (burst.rows.length > 0) {
      const failed = await this.sendOrRollBack(run, burst)
      if (failed) return failed
    }
    await this.commit(run, burst)
    return undefined
  }

  /** Sends the burst; when that fails, rolls it back, and returns it unless the failure is systemic (then throws). */
  private async sendOrRollBack(run: ModelRun, burst: Burst): Promise<FailedBurst | undefined> {
    try {
      await this.send(run, burst)
      return undefined
    } catch (error) {
      await this.rollbackQuietly(run, burst)
      this.throwUnlessSignalsFailed(run, error)
      return failedBurst(burst, error)
    }
  }

  /** Rethrows a systemic failure, and counts a failed send against the limit of failed sends in a row. */
  private throwUnlessSignalsFailed(run: ModelRun, error: unknown): void {
    if (failureScope(error) === 'systemic') throw error
    run.failedSendsInARow += 1
    if (run.failedSendsInARow > run.maxFailedSendsInARow) {
      throw this.failsWhateverTheSplit(run, `${run.failedSendsInARow} sends in a row failed`, error)
    }
  }

  /** A signal whose own send failed: it stays pending, and the claims of this run leave it out from now on. */
  private async isolate(run: ModelRun, row: RawRow, error: unknown): Promise<void> {
    const key = keyOf(run.table, row)
    run.suspects.push({row, error, wasKnown: run.failing.has(key)})
    run.failing.failed(key)
    run.claimed += 1
    this.logger.debug(`${run.model.name}: signal ${describeKey(run.table, row)} failed on its own (${describeError(causeOf(error))})`)
    if (run.suspects.length >= SYSTEMIC_AFTER_ISOLATED) {
      throw this.failsWhateverTheSplit(run, `${run.suspects.length} signals in a row failed on their own`, error)
    }
    if (run.failing.size >= MAX_FAILING_SIGNALS) {
      await this.reportSuspects(run)
      throw new SignalSendError(
        run.model.name,
        `${run.failing.size} signals of "${run.model.name}" failed on their own in this run; the others stay pending until the next run.`,
        {cause: error},
      )
    }
  }

  private failsWhateverTheSplit(run: ModelRun, what: string, last: unknown): SignalSendError {
    return new SignalSendError(
      run.model.name,
      `Sending signals of "${run.model.name}" fails whatever the split (${what}, none succeeded in between); ` +
        `the signals stay pending and none is counted as failing. Last error: ${describeError(causeOf(last))}`,
      {cause: last},
    )
  }

  /**
   * A send succeeded after the suspects failed, so the failures were theirs: count each (the failure recorder may
   * move it to the dead letters) and tell the caller.
   */
  private async reportSuspects(run: ModelRun): Promise<void> {
    const {model, table} = run
    for (const suspect of run.suspects.splice(0)) {
      const error = causeOf(suspect.error)
      let outcome: FailureOutcome = 'pending'
      const {maxAttempts} = run.options
      if (this.failureRecorder && maxAttempts !== undefined) {
        try {
          outcome = await this.failureRecorder.recordFailure({model, table, row: suspect.row, error, maxAttempts})
        } catch (recordError) {
          throw new DatabaseError(
            `Recording the failure of signal ${describeKey(table, suspect.row)} of "${model.name}" failed: ${describeError(recordError)}`,
            {cause: recordError},
          )
        }
      }
      if (outcome === 'dead-lettered') {
        run.failing.forget(keyOf(table, suspect.row))
        this.observer.deadLettered?.({model: model.name, count: 1})
      }
      run.options.onSignalFailure?.(model, {key: describeKey(table, suspect.row), error, outcome})
    }
  }

  /** The model stops on a systemic failure: the signals found failing since the last success were not at fault. */
  private dropSuspects(run: ModelRun): void {
    for (const suspect of run.suspects.splice(0)) {
      if (!suspect.wasKnown) run.failing.forget(keyOf(run.table, suspect.row))
    }
  }

  /** Begins a transaction and claims rows; a deadlock here is harmless (nothing was sent) and retried. */
  private async claim(run: ModelRun, runner: QueryRunner, limit: number, filter?: ClaimFilter): Promise<Burst> {
    const startedAt = performance.now()
    for (let attempt = 1; ; attempt++) {
      try {
        run.open.add(runner)
        // Asked before claiming: the burst beside it may commit while the claim runs.
        const alone = run.open.size === 1
        const rows = await this.dialect.claim(runner, run.table, limit, filter)
        run.claimed += rows.length
        return {runner, rows, limit, startedAt, exhausted: claimExhausts(run.table, rows.length, limit, alone)}
      } catch (error) {
        await this.rollbackRunnerQuietly(run, runner)
        if (attempt < CLAIM_ATTEMPTS && this.dialect.isTransient(error)) {
          this.logger.debug(`${run.table.displayName}: claim attempt ${attempt} failed (${describeError(error)}); retrying`)
          continue
        }
        throw databaseFailure(`Claiming signals from ${run.table.displayName}`, runner, error)
      }
    }
  }

  /** Hands the burst to the model; rejects with a SignalSendError. The caller rolls back. */
  private async send(run: ModelRun, burst: Burst): Promise<void> {
    const {model} = run
    // The claim's connection died while the burst waited (a killed session): the server has rolled the claim back
    // and another flusher may already be sending these rows. Do not send them too.
    if (burst.runner.isReleased) {
      throw databaseFailure(`Sending the burst of ${run.table.displayName}`, burst.runner, undefined)
    }
    try {
      await sendSignals(model, burst.rows.map(run.toEntity))
    } catch (thrown) {
      const delivered = thrown instanceof OneByOneSendFailure ? thrown.delivered : undefined
      const error = thrown instanceof OneByOneSendFailure ? thrown.cause : thrown
      this.observer.sendFailed?.({model: model.name, count: burst.rows.length, error})
      throw new BurstSendError(
        model.name,
        `Sending ${burst.rows.length} signal(s) of "${model.name}" failed: ${describeError(error)}`,
        delivered,
        {cause: error},
      )
    }
  }

  /** Commits the burst and counts its rows as sent; a failed commit rolls back (the rows stay pending). */
  private async commit(run: ModelRun, burst: Burst): Promise<void> {
    try {
      await this.dialect.commit(burst.runner)
      run.open.delete(burst.runner)
    } catch (error) {
      await this.rollbackRunnerQuietly(run, burst.runner)
      throw databaseFailure(`Committing the burst of ${run.table.displayName}`, burst.runner, error)
    }
    if (burst.rows.length === 0) return
    run.sent += burst.rows.length
    run.failedSendsInARow = 0
    const seconds = (performance.now() - burst.startedAt) / 1000
    this.observer.burstCommitted?.({model: run.model.name, count: burst.rows.length, seconds})
    run.options.onBurst?.(run.model, burst.rows.length)
    this.logger.debug(`${run.model.name}: sent and deleted ${burst.rows.length} signal(s)`, {
      model: run.model.name,
      count: burst.rows.length,
    })
    if (run.suspects.length > 0) await this.reportSuspects(run)
  }

  /** Rolled-back rows are pending again: they no longer count as claimed. */
  private async rollbackQuietly(run: ModelRun, ...bursts: Array<Burst | undefined>): Promise<void> {
    for (const burst of bursts) {
      if (!burst) continue
      run.claimed -= burst.rows.length
      await this.rollbackRunnerQuietly(run, burst.runner)
    }
  }

  private async rollbackRunnerQuietly(run: ModelRun, runner: QueryRunner): Promise<void> {
    run.open.delete(runner)
    try {
      await this.dialect.rollback(runner)
    } catch (error) {
      this.logger.debug(`${run.table.displayName}: rollback failed (${describeError(error)})`)
    }
  }
}

function failedBurst(burst: Burst, error: unknown): FailedBurst {
  return {rows: burst.rows, error, delivered: error instanceof BurstSendError ? error.delivered : undefined}
}

/** What the send method threw, without the engine's SignalSendError around it. */
function causeOf(error: unknown): unknown {
  return error instanceof SignalSendError && error.cause !== undefined ? error.cause : error
}

/**
 * When the server closes the connection (killed session, restart), TypeORM releases the query runner and
 * keeps the driver's error to itself; what reaches us then is "Query runner already released" (the older mysql
 * package keeps the runner and says "Cannot enqueue Query after fatal error"). Say what happened instead.
 */
function databaseFailure(action: string, runner: QueryRunner, error: unknown): DatabaseError {
  const reason = runner.isReleased || isFatalConnectionError(error)
    ? 'the database connection was lost (the burst was not committed; its rows stay pending)'
    : describeError(error)
  return new DatabaseError(`${action} failed: ${reason}`, {cause: error})
}

/**
 * Whether a claim of `found` rows out of `limit` shows that nothing more is free to claim. For an unordered model a
 * short claim does. An ordered claim is short whenever its keys have fewer rows than the burst, so only an empty
 * one does, and only when no other burst of this run was open: that burst's keys are held back until it commits.
 * (Keys held by another flusher are that flusher's to send, as its locked rows are: it claims again after each
 * commit, so the last flusher to commit finds whatever is left.)
 */
function claimExhausts(table: SignalTable, found: number, limit: number, alone: boolean): boolean {
  return isOrdered(table) ? found === 0 && alone : found < limit
}

type Settled<T> = {ok: true; value: T} | {ok: false; error: unknown}

/** Waits for the promise without throwing, so that a failure can wait for the work running beside it. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ok: true, value}) as const,
    (error: unknown) => ({ok: false, error}) as const,
  )
}
