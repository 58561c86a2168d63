// Which atomic transaction is open, per DataSource, for the code running inside it (AsyncLocalStorage), and
// how inner blocks join it: they run in the outer transaction and, when they throw, mark it rollback-only.
import {AsyncLocalStorage} from 'node:async_hooks'
import type {DataSource, EntityManager} from 'typeorm'
import type {IsolationLevel} from './isolation.js'

/** One attempt of an outermost atomic block. */
export class TransactionContext {
  private finished = false
  private rollbackCause: {error: unknown} | undefined

  constructor(
    readonly dataSource: DataSource,
    readonly manager: EntityManager,
    readonly isolation: IsolationLevel | undefined,
  ) {}

  /** False once the attempt committed or rolled back; code that outlived it must not use it. */
  get isOpen(): boolean {
    return !this.finished
  }

  finish(): void {
    this.finished = true
  }

  /** The first error an inner block threw, if any: the transaction must not commit. */
  get rollbackOnlyCause(): {error: unknown} | undefined {
    return this.rollbackCause
  }

  markRollbackOnly(error: unknown): void {
    this.rollbackCause ??= {error}
  }
}

type OpenTransactions = ReadonlyMap<DataSource, TransactionContext>

// One store per process, shared by every copy of signalbus that is loaded (the ESM and the CommonJS build are two
// module instances: an app's CommonJS code and the ESM CLI must see the same open transactions).
const STORAGE = Symbol.for('signalbus.openTransactions')
const storageHolder = globalThis as {[STORAGE]?: AsyncLocalStorage<OpenTransactions>}
const storage = (storageHolder[STORAGE] ??= new AsyncLocalStorage<OpenTransactions>())

/** The atomic transaction the caller runs in on this DataSource — possibly one that has already finished. */
export function currentContext(dataSource: DataSource): TransactionContext | undefined {
  return storage.getStore()?.get(dataSource)
}

/** Runs `body` with `context` as the open transaction of its DataSource (others stay as they are). */
export function runInContext<R>(context: TransactionContext, body: () => R): R {
  const open = new Map(storage.getStore() ?? [])
  open.set(context.dataSource, context)
  return storage.run(open, body)
}

/** Runs an inner block in the open transaction; if it throws, the transaction may no longer commit. */
export async function runJoined<R>(context: TransactionContext, body: (manager: EntityManager) => R | Promise<R>): Promise<R> {
  try {
    return await body(context.manager)
  } catch (error) {
    context.markRollbackOnly(error)
    throw error
  }
}
