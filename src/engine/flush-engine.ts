// The one flush engine: claims bursts of rows, hands them to the model's send method and commits, one
// transaction per burst. Every flushing command and library call goes through flushModel().
//
// Where the database allows two open transactions (PostgreSQL, MySQL), bursts overlap on two connections:
// while burst k is being sent, the other connection claims burst k+1, so the broker hardly waits for the
// database. Each burst still is one transaction, committed right after its own send returned; a burst claimed
// but not sent is rolled back when the send before it fails or when the flush is stopped. SQLite (one writer)
// runs the bursts one after the other.
import type {DataSource, QueryRunner} from 'typeorm'
import type {Logger} from '../logger.js'
import type {SignalModel} from '../signal-model.js'
import type {Dialect} from './dialects/index.js'
import {DatabaseError, SignalSendError, describeError} from '../errors.js'
import {describeTable, entityBuilder, type EntityBuilder, type RawRow, type SignalTable} from './signal-table.js'
import {sendSignals} from './send-signals.js'
import {isOrdered} from './ordering.js'

const CLAIM_ATTEMPTS = 5

export interface FlushModelOptions {
  /** Signals per transaction. */
  burst: number
  /** Stop after this many signals (for flush: those pending when it was called). */
  maxSignals?: number
  /** Checked between bursts: a burst in progress always finishes (commit or rollback). */
  signal?: AbortSignal
  onBurst?: (model: SignalModel, sent: number) => void
}

/** Rows claimed (deleted) inside a transaction that is still open on `runner`. */
interface Burst {
  readonly runner: QueryRunner
  readonly rows: RawRow[]
  /** How many rows were asked for. */
  readonly limit: number
  /** The claim shows that no more rows are free to claim (see claimExhausts). */
  readonly exhausted: boolean
}

/** One flushModel() call: the model, its table, and what was claimed and sent (committed) so far. */
interface ModelRun {
  readonly model: SignalModel
  readonly table: SignalTable
  readonly toEntity: EntityBuilder
  readonly options: FlushModelOptions
  sent: number
  /** Rows claimed so far, for `maxSignals`. */
  claimed: number
  /** Connections with a burst transaction open: each must end in a commit or a rollback. */
  readonly open: Set<QueryRunner>
}

export class FlushEngine {
  private checkedServer: Promise<void> | undefined
  private readonly tables = new Map<SignalModel, SignalTable>()

  constructor(
    private readonly dataSource: DataSource,
    readonly dialect: Dialect,
    private readonly logger: Logger,
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
      sent: 0,
      claimed: 0,
      open: new Set(),
    }
    const runner = this.dataSource.createQueryRunner()
    let second: QueryRunner | undefined
    try {
      await this.checkServerOnce(runner)
      if (!this.dialect.overlapsBursts) await this.flushOneAfterAnother(run, runner)
      else await this.flushOverlapped(run, runner, () => (second ??= this.dataSource.createQueryRunner()))
      return run.sent
    } finally {
      // Every path above ends its transactions; whatever failed, no connection goes back to the pool with one open.
      for (const open of [...run.open]) await this.rollbackRunnerQuietly(run, open)
      await runner.release()
      await second?.release()
    }
  }

  private checkServerOnce(runner: QueryRunner): Promise<void> {
    this.checkedServer ??= this.dialect.checkServer(runner).catch((error: unknown) => {
      this.checkedServer = undefined
      throw error
    })
    return this.checkedServer
  }

  /** How many rows the next burst may claim: 0 when stopped or when `maxSignals` are claimed. */
  private nextLimit(run: ModelRun): number {
    if (run.options.signal?.aborted) return 0
    return Math.max(0, Math.min(run.options.burst, (run.options.maxSignals ?? Infinity) - run.claimed))
  }

  private async flushOneAfterAnother(run: ModelRun, runner: QueryRunner): Promise<void> {
    for (let limit = this.nextLimit(run); limit > 0; limit = this.nextLimit(run)) {
      const burst = await this.claim(run, runner, limit)
      if (burst.rows.length > 0) {
        try {
          await this.send(run, burst)
        } catch (error) {
          await this.rollbackQuietly(run, burst)
          throw error
        }
      }
      await this.commit(run, burst)
      if (burst.exhausted) return
    }
  }

  /**
   * Sends burst k while the other connection claims burst k+1, then commits k and sends k+1. A burst is
   * committed as soon as its send returned, before the next send starts, so a crash re-sends at most one burst.
   * When a send fails, that burst and the one claimed behind it are rolled back; when the flush is stopped,
   * the burst claimed behind the last one sent is rolled back.
   */
  private async flushOverlapped(run: ModelRun, runner: QueryRunner, spare: () => QueryRunner): Promise<void> {
    const limit = this.nextLimit(run)
    if (limit === 0) return
    let current = await this.claim(run, runner, limit)
    let other: QueryRunner | undefined
    while (current.rows.length > 0) {
      const nextLimit = current.exhausted ? 0 : this.nextLimit(run)
      const [sending, claiming] = await Promise.all([
        settle(this.send(run, current)),
        nextLimit > 0 ? settle(this.claim(run, (other ??= spare()), nextLimit)) : undefined,
      ])
      const next = claiming?.ok ? claiming.value : undefined
      if (!sending.ok) {
        await this.rollbackQuietly(run, current, next)
        throw sending.error
      }
      try {
        await this.commit(run, current)
      } catch (error) {
        await this.rollbackQuietly(run, next)
        throw error
      }
      if (claiming && !claiming.ok) throw claiming.error
      if (!next) return
      if (run.options.signal?.aborted) return this.rollbackQuietly(run, next)
      other = current.runner
      current = next
      // An ordered claim made while the burst before it was open may have found nothing only because that burst
      // held its keys: end it and claim again, now with nothing else of this run open (see claimExhausts).
      if (current.rows.length === 0 && !current.exhausted) {
        await this.commit(run, current)
        const again = this.nextLimit(run)
        if (again === 0) return
        current = await this.claim(run, current.runner, again)
      }
    }
    // The last claim found nothing: end its empty transaction.
    await this.commit(run, current)
  }

  /** Begins a transaction and claims rows; a deadlock here is harmless (nothing was sent) and retried. */
  private async claim(run: ModelRun, runner: QueryRunner, limit: number): Promise<Burst> {
    for (let attempt = 1; ; attempt++) {
      try {
        run.open.add(runner)
        // Asked before claiming: the burst beside it may commit while the claim runs.
        const alone = run.open.size === 1
        const rows = await this.dialect.claim(runner, run.table, limit)
        run.claimed += rows.length
        return {runner, rows, limit, exhausted: claimExhausts(run.table, rows.length, limit, alone)}
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
    } catch (error) {
      throw new SignalSendError(
        model.name,
        `Sending ${burst.rows.length} signal(s) of "${model.name}" failed: ${describeError(error)}`,
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
    run.options.onBurst?.(run.model, burst.rows.length)
    this.logger.debug(`${run.model.name}: sent and deleted ${burst.rows.length} signal(s)`)
  }

  private async rollbackQuietly(run: ModelRun, ...bursts: Array<Burst | undefined>): Promise<void> {
    for (const burst of bursts) if (burst) await this.rollbackRunnerQuietly(run, burst.runner)
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

/**
 * When the server closes the connection (killed session, restart), TypeORM releases the query runner and
 * keeps the driver's error to itself; what reaches us then is "Query runner already released". Say what
 * happened instead.
 */
function databaseFailure(action: string, runner: QueryRunner, error: unknown): DatabaseError {
  const reason = runner.isReleased
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
