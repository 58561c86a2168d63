// atomic / executeAtomic / retryOnIntegrityError on every dialect: commit, rollback, nesting, isolation and
// which errors re-run a block. The real two-connection conflicts are in conflicts.test.ts.
import {expect} from 'chai'
import {QueryFailedError, type DataSource, type EntityManager, type EntitySubscriberInterface} from 'typeorm'
import {
  DBSerializationError,
  SignalbusConfigError,
  UnexpectedRollbackError,
  atomic,
  executeAtomic,
  retryOnIntegrityError,
  silentLogger,
  type AtomicRetry,
} from '../../src/index.js'
import {databaseErrorCode} from '../../src/atomic/database-errors.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Customer} from '../fixtures/signals/entities.js'
import {TestDatabase} from '../helpers/test-database.js'
import {Gate} from './gates.js'
import {RowsTable} from './rows-table.js'

const UNIQUE_VIOLATION = {postgres: '23505', mariadb: 1062, sqlite: 'SQLITE_CONSTRAINT_UNIQUE'} as const

interface TransactionCounts {
  starts: number
  commits: number
  rollbacks: number
}

/** Counts the transactions TypeORM starts, commits and rolls back on the data source from now on. */
function countTransactions(dataSource: DataSource): TransactionCounts {
  const counts = {starts: 0, commits: 0, rollbacks: 0}
  const subscriber: EntitySubscriberInterface = {
    afterTransactionStart: () => void (counts.starts += 1),
    afterTransactionCommit: () => void (counts.commits += 1),
    afterTransactionRollback: () => void (counts.rollbacks += 1),
  }
  dataSource.subscribers.push(subscriber)
  return counts
}

/**
 * Whether a read inside the transaction sees a change another connection commits meanwhile (READ COMMITTED
 * does, REPEATABLE READ and SERIALIZABLE do not). Behaviour, not a status variable: MariaDB's
 * information_schema.innodb_trx may show a connection's earlier level.
 */
async function seesConcurrentCommit(db: TestDatabase, manager: EntityManager, id: number): Promise<boolean> {
  const before = await manager.findOneByOrFail(Customer, {id})
  await db.dataSource.getRepository(Customer).update(id, {name: `${before.name}+`})
  const after = await manager.findOneByOrFail(Customer, {id})
  return after.name !== before.name
}

for (const dialect of DIALECTS) {
  describe(`atomic and executeAtomic on ${dialect}`, function () {
    this.timeout(30_000)
    const isServer = dialect !== 'sqlite'
    let db: TestDatabase
    let dataSource: DataSource
    let transactions: TransactionCounts
    /** A table with a unique `name` column (TypeORM ignores explicit ids for PostgreSQL serial keys). */
    let rows: RowsTable

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
      dataSource = db.dataSource
      rows = await RowsTable.create(db)
      transactions = countTransactions(dataSource)
    })

    afterEach(async () => {
      await rows.drop()
      await db.destroy()
    })

    const customerNames = async (): Promise<string[]> =>
      (await dataSource.getRepository(Customer).find({order: {id: 'ASC'}})).map((customer) => customer.name)

    it('commits what the block wrote and resolves to its value', async () => {
      const id = await executeAtomic(dataSource, async (manager) => {
        const customer = await manager.save(Customer, {name: 'Ada'})
        return customer.id
      })
      expect(id).to.be.a('number')
      expect(await customerNames()).to.deep.equal(['Ada'])
      expect(transactions).to.deep.equal({starts: 1, commits: 1, rollbacks: 0})
    })

    it('rolls back and rethrows the same error when the block throws, and does not run it again', async () => {
      const failure = new Error('the business rule said no')
      let calls = 0
      const outcome = executeAtomic(dataSource, async (manager) => {
        calls += 1
        await manager.save(Customer, {name: 'Ada'})
        throw failure
      })
      expect(await outcome.catch((error: unknown) => error)).to.equal(failure)
      expect(calls).to.equal(1)
      expect(await customerNames()).to.deep.equal([])
      expect(transactions).to.deep.equal({starts: 1, commits: 0, rollbacks: 1})
    })

    it('does not retry a unique-key violation outside retryOnIntegrityError', async () => {
      await rows.insert(dataSource.manager, {id: 1, name: 'taken', value: 0})
      let calls = 0
      const error = await executeAtomic(dataSource, async (manager) => {
        calls += 1
        await rows.insert(manager, {id: 2, name: 'taken', value: 0})
      }).catch((thrown: unknown) => thrown)
      expect(error).to.be.instanceOf(QueryFailedError)
      expect(databaseErrorCode(error)).to.equal(UNIQUE_VIOLATION[dialect])
      expect(calls).to.equal(1)
    })

    it('raises DBSerializationError (attempts, last error as cause) when the retries are exhausted', async () => {
      await rows.insert(dataSource.manager, {id: 1, name: 'taken', value: 0})
      let calls = 0
      const retries: AtomicRetry[] = []
      const debugLines: string[] = []
      const error = await executeAtomic(
        dataSource,
        async (manager) => {
          calls += 1
          await manager.save(Customer, {name: `attempt ${calls}`})
          await retryOnIntegrityError(manager, (inner) => rows.insert(inner, {id: 2, name: 'taken', value: 0}))
        },
        {maxAttempts: 3, retryDelayMs: 1, onRetry: (retry) => retries.push(retry), logger: {...silentLogger, debug: (line) => debugLines.push(line)}},
      ).catch((thrown: unknown) => thrown)
      expect(error).to.be.instanceOf(DBSerializationError)
      expect((error as DBSerializationError).attempts).to.equal(3)
      expect((error as DBSerializationError).message).to.match(/^The atomic block failed 3 times; giving up: /)
      const cause = (error as DBSerializationError).cause
      expect(cause, 'the last attempt’s error').to.be.instanceOf(DBSerializationError)
      expect(databaseErrorCode(cause)).to.equal(UNIQUE_VIOLATION[dialect])
      expect(calls).to.equal(3)
      expect(retries.map((retry) => [retry.attempt, retry.stage, retry.code])).to.deep.equal([
        [1, 'body', UNIQUE_VIOLATION[dialect]],
        [2, 'body', UNIQUE_VIOLATION[dialect]],
      ])
      expect(debugLines).to.have.length(2)
      expect(debugLines[0]).to.match(new RegExp(`^atomic: attempt 1 of 3 failed in the block \\(${UNIQUE_VIOLATION[dialect]}: .+\\); running it again in \\d+ ms$`))
      expect(await customerNames()).to.deep.equal([])
      expect(await rows.values()).to.deep.equal({1: 0})
      expect(transactions).to.deep.equal({starts: 3, commits: 0, rollbacks: 3})
    })

    it('re-runs the block when it throws DBSerializationError itself', async () => {
      let calls = 0
      const name = await executeAtomic(
        dataSource,
        async (manager) => {
          calls += 1
          await manager.save(Customer, {name: `attempt ${calls}`})
          if (calls === 1) throw new DBSerializationError()
          return `attempt ${calls}`
        },
        {retryDelayMs: 1},
      )
      expect(name).to.equal('attempt 2')
      expect(await customerNames()).to.deep.equal(['attempt 2'])
    })

    it('atomic() wraps a function: every call is its own transaction and gets the arguments after the manager', async () => {
      const addCustomer = atomic(dataSource, async (manager: EntityManager, name: string, suffix: number) => {
        const customer = await manager.save(Customer, {name: `${name} ${suffix}`})
        return customer.name
      })
      expect(await addCustomer('Ada', 1)).to.equal('Ada 1')
      expect(await addCustomer('Grace', 2)).to.equal('Grace 2')
      expect(await customerNames()).to.deep.equal(['Ada 1', 'Grace 2'])
      expect(transactions).to.deep.equal({starts: 2, commits: 2, rollbacks: 0})
    })

    it('nested blocks join the outermost transaction and commit once, when the outermost block returns', async () => {
      const addCustomer = atomic(dataSource, (manager: EntityManager, name: string) => manager.save(Customer, {name}))
      let visibleInside: number | undefined
      await executeAtomic(dataSource, async (outer) => {
        await outer.save(Customer, {name: 'outer'})
        await executeAtomic(dataSource, async (inner) => {
          expect(inner, 'the same transaction').to.equal(outer)
          await addCustomer('inner')
        })
        if (isServer) visibleInside = await db.count(Customer) // another connection: nothing committed yet
      })
      if (isServer) expect(visibleInside).to.equal(0)
      expect(await customerNames()).to.deep.equal(['outer', 'inner'])
      expect(transactions).to.deep.equal({starts: 1, commits: 1, rollbacks: 0})
    })

    it('a throw in an inner block rolls back everything, and the block is not run again', async () => {
      let calls = 0
      const failure = new Error('inner failure')
      const error = await executeAtomic(dataSource, async (outer) => {
        calls += 1
        await outer.save(Customer, {name: 'outer'})
        await executeAtomic(dataSource, async (inner) => {
          await inner.save(Customer, {name: 'inner'})
          throw failure
        })
      }).catch((thrown: unknown) => thrown)
      expect(error).to.equal(failure)
      expect(calls).to.equal(1)
      expect(await customerNames()).to.deep.equal([])
      expect(transactions).to.deep.equal({starts: 1, commits: 0, rollbacks: 1})
    })

    it('rolls back (UnexpectedRollbackError) when the outer block catches an inner block’s error and returns', async () => {
      const failure = new Error('inner failure')
      const error = await executeAtomic(dataSource, async (outer) => {
        await outer.save(Customer, {name: 'outer'})
        await executeAtomic(dataSource, () => Promise.reject(failure)).catch(() => undefined)
        return 'the outer block thinks all is well'
      }).catch((thrown: unknown) => thrown)
      expect(error).to.be.instanceOf(UnexpectedRollbackError)
      expect((error as UnexpectedRollbackError).cause).to.equal(failure)
      expect((error as Error).message).to.contain('inner failure')
      expect(await customerNames()).to.deep.equal([])
      expect(transactions).to.deep.equal({starts: 1, commits: 0, rollbacks: 1})
    })

    it('re-runs the whole block when a unique-key violation under retryOnIntegrityError was caught by the block', async () => {
      await rows.insert(dataSource.manager, {id: 1, name: 'taken', value: 0})
      let calls = 0
      await executeAtomic(
        dataSource,
        async (manager) => {
          calls += 1
          await manager.save(Customer, {name: `attempt ${calls}`})
          const name = calls === 1 ? 'taken' : 'free'
          await retryOnIntegrityError(dataSource, (inner) => rows.insert(inner, {id: 2, name, value: calls})).catch(() => undefined)
        },
        {retryDelayMs: 1},
      )
      expect(calls).to.equal(2)
      expect(await customerNames()).to.deep.equal(['attempt 2'])
      expect(await rows.values()).to.deep.equal({1: 0, 2: 2})
    })

    it('a block nested on another DataSource runs its own transaction', async () => {
      const other = await TestDatabase.create(dialect)
      try {
        const failure = new Error('outer failure')
        const error = await executeAtomic(dataSource, async (outer) => {
          await outer.save(Customer, {name: 'first database'})
          await executeAtomic(other.dataSource, async (inner) => {
            expect(inner).not.to.equal(outer)
            await inner.save(Customer, {name: 'second database'})
          })
          throw failure
        }).catch((thrown: unknown) => thrown)
        expect(error).to.equal(failure)
        expect(await customerNames()).to.deep.equal([])
        expect(await other.count(Customer), 'committed on its own').to.equal(1)
      } finally {
        await other.destroy()
      }
    })

    it('retryOnIntegrityError outside an atomic block is a clear error and does not run the function', async () => {
      let calls = 0
      const body = async (): Promise<void> => void (calls += 1)
      const outside = await retryOnIntegrityError(dataSource, body).catch((thrown: unknown) => thrown)
      expect(outside).to.be.instanceOf(SignalbusConfigError)
      expect((outside as Error).message).to.match(/must be called inside an atomic block/)
      let leftOver: Promise<void> | undefined
      await executeAtomic(dataSource, () => void (leftOver = new Promise((resolve) => setTimeout(resolve, 10)).then(() => retryOnIntegrityError(dataSource, body))))
      const late = await leftOver!.catch((thrown: unknown) => thrown)
      expect(late).to.be.instanceOf(SignalbusConfigError)
      expect((late as Error).message).to.match(/after its atomic block had finished/)
      expect(calls).to.equal(0)
    })

    if (isServer) {
      it('runs REPEATABLE READ unless the caller asks for another isolation level', async () => {
        const {id} = await dataSource.manager.save(Customer, {name: 'Ada'})
        expect(await executeAtomic(dataSource, (manager) => seesConcurrentCommit(db, manager, id)), 'REPEATABLE READ').to.equal(false)
        expect(await executeAtomic(dataSource, (manager) => seesConcurrentCommit(db, manager, id), {isolation: 'READ COMMITTED'})).to.equal(true)
        if (dialect === 'postgres') {
          const level = await executeAtomic(dataSource, (manager) => manager.query('SHOW transaction_isolation'), {isolation: 'SERIALIZABLE'})
          expect(level).to.deep.equal([{transaction_isolation: 'serializable'}])
        }
      })

      it('refuses a nested block that asks for a stronger isolation level than the open transaction', async () => {
        const error = await executeAtomic(
          dataSource,
          () => executeAtomic(dataSource, () => 'never', {isolation: 'SERIALIZABLE'}),
          {isolation: 'READ COMMITTED'},
        ).catch((thrown: unknown) => thrown)
        expect(error).to.be.instanceOf(SignalbusConfigError)
        expect((error as Error).message).to.contain('asks for SERIALIZABLE but the open transaction runs READ COMMITTED')
        const weaker = await executeAtomic(dataSource, () => executeAtomic(dataSource, () => 'fine', {isolation: 'READ COMMITTED'}))
        expect(weaker).to.equal('fine')
      })
    } else {
      it('outermost blocks on SQLite take turns on its single connection instead of sharing one transaction', async () => {
        const events: string[] = []
        const aStarted = new Gate('A started')
        const a = executeAtomic(dataSource, async (manager) => {
          events.push('A begins')
          aStarted.open()
          await new Promise((resolve) => setTimeout(resolve, 50))
          await manager.save(Customer, {name: 'A'})
          events.push('A ends')
        })
        await aStarted.wait()
        const b = executeAtomic(dataSource, async (manager) => {
          events.push('B begins')
          await manager.save(Customer, {name: 'B'})
          throw new Error('B fails')
        })
        await a
        expect(await b.catch((error: Error) => error.message)).to.equal('B fails')
        expect(events).to.deep.equal(['A begins', 'A ends', 'B begins'])
        expect(await customerNames()).to.deep.equal(['A'])
        expect(transactions).to.deep.equal({starts: 2, commits: 1, rollbacks: 1})
      })
    }
  })
}

describe('atomic options', () => {
  it('rejects a maxAttempts below 1 or a negative delay before running anything', async () => {
    const dataSource = {} as DataSource
    expect(() => atomic(dataSource, () => 1, {maxAttempts: 0})).to.throw(SignalbusConfigError, /maxAttempts/)
    expect(() => atomic(dataSource, () => 1, {maxAttempts: 1.5})).to.throw(SignalbusConfigError, /maxAttempts/)
    const error = await executeAtomic(dataSource, () => 1, {retryDelayMs: -1}).catch((thrown: unknown) => thrown)
    expect(error).to.be.instanceOf(SignalbusConfigError)
  })
})
