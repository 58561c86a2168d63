// SignalbusTransactions: executeAtomic / atomic bound to the app's injected DataSource, so a service inserts its signal rows in its business transaction.
import type {DataSource} from 'typeorm'
import {atomic, executeAtomic, type AtomicBlock, type AtomicOptions} from '../atomic/atomic.js'

export class SignalbusTransactions {
  constructor(
    readonly dataSource: DataSource,
    private readonly defaults: AtomicOptions = {},
  ) {}

  /** Runs `block` in one transaction on the module's DataSource (see signalbus's `executeAtomic`): re-run on deadlocks and serialization failures. */
  executeAtomic<R>(block: AtomicBlock<[], R>, options: AtomicOptions = {}): Promise<R> {
    return executeAtomic(this.dataSource, block, {...this.defaults, ...options})
  }

  /** Wraps `block` so that each call runs it atomically on the module's DataSource (see signalbus's `atomic`). */
  atomic<Args extends unknown[], R>(block: AtomicBlock<Args, R>, options: AtomicOptions = {}): (...args: Args) => Promise<R> {
    return atomic(this.dataSource, block, {...this.defaults, ...options})
  }
}
