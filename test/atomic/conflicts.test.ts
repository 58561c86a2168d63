// atomic / executeAtomic against real conflicts between two connections on PostgreSQL and MariaDB: gates
// order the two transactions so that the database must reject one of them, and the block is run again.
// Attempts are counted twice: by the block's own invocations, and by the onRetry hook.
import {expect} from 'chai'
import type {EntityManager} from 'typeorm'
import {executeAtomic, retryOnIntegrityError, type AtomicOptions, type AtomicRetry} from '../../src/index.js'
import type {DialectName} from '../fixtures/signals/data-sources.js'
import {TestDatabase} from '../helpers/test-database.js'
import {Gate} from './gates.js'
import {RowsTable} from './rows-table.js'

const CONFLICT_DIALECTS = ['postgres', 'mariadb'] as const satisfies readonly DialectName[]

const EXPECTED_CODES = {
  postgres: {lostUpdate: '40001', deadlock: '40P01', duplicate: '23505'},
  mariadb: {lostUpdate: 1020, deadlock: 1213, duplicate: 1062},
} as const

/** Prints what a conflict test observed (the attempt counts are part of the closing note). */
function report(line: string): void {
  console.log(`        ↳ ${line}`)
}

const times = (count: number): string => `${count} ${count === 1 ? 'time' : 'times'}`
const codesOf = (retries: AtomicRetry[]): string => retries.map((retry) => String(retry.code)).join(', ')

for (const dialect of CONFLICT_DIALECTS) {
  describe(`atomic under real conflicts on ${dialect}`, function () {
    this.timeout(60_000)
    const codes = EXPECTED_CODES[dialect]
    let db: TestDatabase
    let table: RowsTable
    let retries: AtomicRetry[]
    let options: AtomicOptions

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
      table = await RowsTable.create(db)
      retries = []
      options = {retryDelayMs: 5, maxRetryDelayMs: 50, onRetry: (retry) => retries.push(retry)}
    })

    afterEach(async () => {
      await table.drop()
      await db.destroy()
    })

    const retrySummary = (): Array<[number, string, string | number | undefined]> =>
      retries.map((retry) => [retry.attempt, retry.stage, retry.code])

    /** Lock waits end in seconds, not minutes, if a test goes wrong; deadlocks are found in 100 ms on PostgreSQL. */
    async function boundLockWaits(manager: EntityManager): Promise<void> {
      if (dialect === 'postgres') {
        await manager.query("SET LOCAL deadlock_timeout = '100ms'")
        await manager.query("SET LOCAL lock_timeout = '10s'")
      } else {
        await manager.query('SET SESSION innodb_lock_wait_timeout = 10')
      }
    }

    /** MariaDB reports a lost update under REPEATABLE READ (error 1020) only with innodb_snapshot_isolation. */
    async function detectLostUpdates(manager: EntityManager): Promise<void> {
      if (dialect === 'mariadb') await manager.query('SET SESSION innodb_snapshot_isolation = ON')
    }

    /**
     * A reads the counter, B reads it, updates it and commits, then A updates from its stale read: under
     * REPEATABLE READ the database refuses A's update; A's block runs again and reads B's value.
     */
    async function lostUpdateRace(runA: (block: (manager: EntityManager) => Promise<number>) => Promise<number>): Promise<{a: number; b: number}> {
      await table.insert(db.dataSource.manager, {id: 1, value: 0})
      const aRead = new Gate('A read the counter')
      const bCommitted = new Gate('B committed')
      const calls = {a: 0, b: 0}
      const incrementA = async (manager: EntityManager): Promise<number> => {
        calls.a += 1
        await boundLockWaits(manager)
        await detectLostUpdates(manager)
        const value = await table.value(manager, 1)
        aRead.open()
        await bCommitted.wait()
        await table.setValue(manager, 1, value + 1)
        return value + 1
      }
      const [resultA] = await Promise.all([
        runA(incrementA),
        (async () => {
          await aRead.wait()
          await executeAtomic(db.dataSource, async (manager) => {
            calls.b += 1
            await table.setValue(manager, 1, (await table.value(manager, 1)) + 1)
          }, options)
          bCommitted.open()
        })(),
      ])
      expect(resultA, "A's second attempt starts from B's value").to.equal(2)
      expect(await table.values()).to.deep.equal({1: 2})
      return calls
    }

    it(`re-runs a block whose read-then-update lost to a concurrent commit (${codes.lostUpdate}), and it then succeeds`, async () => {
      const calls = await lostUpdateRace((block) => executeAtomic(db.dataSource, block, options))
      expect(calls, 'block invocations').to.deep.equal({a: 2, b: 1})
      expect(retrySummary()).to.deep.equal([[1, 'body', codes.lostUpdate]])
      report(`A ran ${times(calls.a)}, B ${times(calls.b)}; retried on ${codesOf(retries)}`)
    })

    it('re-runs the outermost block, not the inner one, when the failure happens in a nested block', async () => {
      let outerCalls = 0
      const calls = await lostUpdateRace((block) =>
        executeAtomic(db.dataSource, async () => {
          outerCalls += 1
          return executeAtomic(db.dataSource, block, {maxAttempts: 1})
        }, options),
      )
      expect({outer: outerCalls, inner: calls.a, b: calls.b}, 'block invocations').to.deep.equal({outer: 2, inner: 2, b: 1})
      expect(retrySummary(), "the inner block's maxAttempts 1 plays no part").to.deep.equal([[1, 'body', codes.lostUpdate]])
      report(`outer block ran ${times(outerCalls)}, inner ${times(calls.a)}, B ${times(calls.b)}; retried on ${codesOf(retries)}`)
    })

    // READ COMMITTED: a deadlock happens at any isolation level, and under REPEATABLE READ the victim's second
    // attempt could also fail (40001 / 1020) when its snapshot predates the winner's commit. The victim's second
    // attempt waits for the winner's commit: started earlier, it may win the race for the first row's lock
    // against the waking winner and deadlock again (seen on PostgreSQL) — correct, but a third run.
    it(`re-runs the victim of a real deadlock (${codes.deadlock}); both blocks end committed`, async () => {
      await table.insert(db.dataSource.manager, {id: 1, value: 0})
      await table.insert(db.dataSource.manager, {id: 2, value: 0})
      const locked = {a: new Gate('A locked row 1'), b: new Gate('B locked row 2')}
      const committed = {a: new Gate('A committed'), b: new Gate('B committed')}
      const calls = {a: 0, b: 0}
      const lockBoth = (name: 'a' | 'b', first: number, second: number, other: 'a' | 'b') => async (manager: EntityManager): Promise<void> => {
        calls[name] += 1
        if (calls[name] > 1) await committed[other].wait()
        await boundLockWaits(manager)
        await table.increment(manager, first)
        locked[name].open()
        await locked[other].wait()
        await table.increment(manager, second)
      }
      const run = (name: 'a' | 'b', first: number, second: number, other: 'a' | 'b'): Promise<void> =>
        executeAtomic(db.dataSource, lockBoth(name, first, second, other), {...options, isolation: 'READ COMMITTED'}).then(() =>
          committed[name].open(),
        )
      await Promise.all([run('a', 1, 2, 'b'), run('b', 2, 1, 'a')])
      expect(retrySummary()).to.deep.equal([[1, 'body', codes.deadlock]])
      expect(calls.a + calls.b, 'block invocations in all').to.equal(3)
      expect([calls.a, calls.b]).to.have.members([1, 2])
      expect(await table.values()).to.deep.equal({1: 2, 2: 2})
      report(`A ran ${times(calls.a)}, B ${times(calls.b)}; retried on ${codesOf(retries)}`)
    })

    it('retryOnIntegrityError: an insert that lost a unique-key race is re-run, and the second attempt sees the other row', async () => {
      const calls = {a: 0, b: 0}
      const aChecked = new Gate('A found no row named "x"')
      const bCommitted = new Gate('B committed its row "x"')
      /** Get-or-create of the row named "x": returns the value of whichever row ends up there. */
      const claim = (name: 'a' | 'b', id: number, value: number) => async (manager: EntityManager): Promise<number> => {
        calls[name] += 1
        const existing = await table.valueByName(manager, 'x')
        if (existing !== undefined) return existing
        if (name === 'a') {
          aChecked.open()
          await bCommitted.wait()
        }
        await retryOnIntegrityError(manager, (inner) => table.insert(inner, {id, name: 'x', value}))
        return value
      }
      const [resultA] = await Promise.all([
        executeAtomic(db.dataSource, claim('a', 1, 100), options),
        (async () => {
          await aChecked.wait()
          const resultB = await executeAtomic(db.dataSource, claim('b', 2, 200), options)
          bCommitted.open()
          return resultB
        })(),
      ])
      expect(resultA, "A's second attempt returns B's row").to.equal(200)
      expect(calls, 'block invocations').to.deep.equal({a: 2, b: 1})
      expect(retrySummary()).to.deep.equal([[1, 'body', codes.duplicate]])
      expect(retries[0]!.error).to.have.property('name', 'DBSerializationError')
      expect(await table.values()).to.deep.equal({2: 200})
      report(`A ran ${times(calls.a)}, B ${times(calls.b)}; retried on ${codesOf(retries)}`)
    })

    if (dialect === 'postgres') {
      it('re-runs a block whose COMMIT failed with a serialization failure (SERIALIZABLE write skew, 40001 at COMMIT)', async () => {
        // Two doctors on call; each block takes its doctor off call only if another one stays on call.
        await table.insert(db.dataSource.manager, {id: 1, value: 1})
        await table.insert(db.dataSource.manager, {id: 2, value: 1})
        const gates = {aRead: new Gate('A read'), bRead: new Gate('B read'), aWrote: new Gate('A wrote'), bWrote: new Gate('B wrote')}
        const aCommitted = new Gate('A committed')
        const calls = {a: 0, b: 0}
        const serializable: AtomicOptions = {...options, isolation: 'SERIALIZABLE'}
        const goOffCall = async (manager: EntityManager, id: number): Promise<boolean> => {
          const onCall = await table.countWhereValue(manager, 1)
          if (onCall < 2) return false
          await table.setValue(manager, id, 0)
          return true
        }
        const [aWentOff, bWentOff] = await Promise.all([
          executeAtomic(db.dataSource, async (manager) => {
            calls.a += 1
            await table.countWhereValue(manager, 1)
            gates.aRead.open()
            await gates.bRead.wait()
            const wentOff = await goOffCall(manager, 1)
            gates.aWrote.open()
            await gates.bWrote.wait()
            return wentOff
          }, serializable).then((wentOff) => {
            aCommitted.open()
            return wentOff
          }),
          executeAtomic(db.dataSource, async (manager) => {
            calls.b += 1
            await gates.aRead.wait()
            await table.countWhereValue(manager, 1)
            gates.bRead.open()
            await gates.aWrote.wait()
            const wentOff = await goOffCall(manager, 2)
            gates.bWrote.open()
            await aCommitted.wait()
            return wentOff
          }, serializable),
        ])
        expect({aWentOff, bWentOff}).to.deep.equal({aWentOff: true, bWentOff: false})
        expect(calls, 'block invocations').to.deep.equal({a: 1, b: 2})
        expect(retrySummary()).to.deep.equal([[1, 'commit', '40001']])
        expect(await table.values(), 'one doctor stays on call').to.deep.equal({1: 0, 2: 1})
        report(`A ran ${times(calls.a)}, B ${times(calls.b)}; B's first COMMIT failed with ${codesOf(retries)}`)
      })
    }
  })
}
