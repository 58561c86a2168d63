// The failure recorder against the real databases: counting, moving a signal at its limit with every value intact,
// requeuing it exactly, concurrency, purging, and writing nothing at all before `signalbus setup --apply`.
import {expect} from 'chai'
import {DataSource, type DataSourceOptions} from 'typeorm'
import {SignalBus, initializeForFlushing, silentLogger} from '../../src/index.js'
import {ComputedSignalOn, deadLetterEntities, RichSignalOn} from '../fixtures/dead-letters/entities.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Signal} from '../fixtures/signals/entities.js'
import {controls} from '../fixtures/signals/test-controls.js'
import {
  attemptRows,
  bookkeepingNames,
  dropBookkeeping,
  failureOf,
  hasTable,
  insertRichRows,
  rowSnapshot,
  sqlTable,
} from '../helpers/dead-letters.js'
import {IsolatedDatabase} from '../helpers/inspection.js'
import {TestDatabase} from '../helpers/test-database.js'

const key = (tenant: string, seq: number): string => JSON.stringify([tenant, String(seq)])

for (const dialect of DIALECTS) {
  const RichSignal = RichSignalOn[dialect]

  describe(`dead-letter recorder on ${dialect}`, () => {
    let db: TestDatabase
    let signalbus: SignalBus

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: deadLetterEntities(dialect), fixture: 'dead-letters/cli-data-source.js'})
      signalbus = new SignalBus(db.dataSource)
      await signalbus.setup()
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1], ['acme', 2], ['Ümlaut-ß', 3]])
    })

    afterEach(async () => {
      await dropBookkeeping(db.dataSource)
      await db.destroy()
    })

    it('moves a signal to the dead letters at its 3rd recorded failure with its row intact, and requeue restores it exactly', async () => {
      const before = await rowSnapshot(db.dataSource, dialect, RichSignal)
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 2}, {maxAttempts: 3})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
      expect(await attemptRows(db.dataSource)).to.deep.equal({[key('acme', 2)]: 2})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')

      const after = await rowSnapshot(db.dataSource, dialect, RichSignal)
      expect(after, 'the row left its table; the others are untouched').to.deep.equal([before[0], before[2]])
      expect(await attemptRows(db.dataSource), 'the attempt count went with it').to.deep.equal({})
      expect(await signalbus.pending([RichSignal])).to.deep.equal({RichSignal: 2})

      const letters = await signalbus.deadLetters()
      expect(letters).to.have.length(1)
      const [letter] = letters
      expect(letter!.model).to.equal('RichSignal')
      expect(letter!.key).to.deep.equal({tenant: 'acme', seq: '2'})
      expect(letter!.attempts).to.equal(3)
      expect(letter!.error).to.equal('message size 2097152 is larger than 1048576')
      expect(letter!.firstFailedAt.getTime()).to.be.at.most(letter!.lastFailedAt.getTime())
      expect(Math.abs(letter!.lastFailedAt.getTime() - Date.now()), 'times are UTC').to.be.below(60_000)
      expect(await signalbus.deadLetterCounts()).to.deep.equal({RichSignal: 1, Signal: 0, CompositeSignal: 0, BatchSignal: 0})

      const report = await signalbus.requeue([RichSignal], {keys: [{tenant: 'acme', seq: 2}]})
      expect(report).to.deep.equal({requeued: {RichSignal: 1}, missing: [], failed: []})
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal), 'byte for byte as before').to.deep.equal(before)
      expect(await signalbus.deadLetters()).to.deep.equal([])

      // The attempt count starts again from 0.
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
      expect(await attemptRows(db.dataSource)).to.deep.equal({[key('acme', 2)]: 1})
    })

    it('hands the requeued row to the send method as before: transformers applied to the original raw values', async () => {
      controls.sent.length = 0
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'Ümlaut-ß', seq: 3}, {maxAttempts: 1})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
      expect((await signalbus.requeue(['RichSignal'], {all: true})).requeued).to.deep.equal({RichSignal: 1})
      await signalbus.flushmany([RichSignal])
      const sent = controls.sent.find((record) => record.key === 'Ümlaut-ß:3')
      expect(sent?.payload, 'the transformer upper-cases the stored lower-case text').to.equal('HELLO-3')
    })

    it('requeues a one-column key given as a value, and all dead letters of a model with all', async () => {
      await db.insertSignals(3)
      const ids = ((await db.dataSource.query(`SELECT id FROM ${sqlTable(db.dataSource, Signal)} ORDER BY id`)) as Array<{id: number}>).map((row) => row.id)
      const before = await rowSnapshot(db.dataSource, dialect, Signal)
      for (const id of ids) {
        expect(await signalbus.failureRecorder.recordFailure(await failureOf(signalbus, Signal, {id}, {maxAttempts: 1}))).to.equal('dead-lettered')
      }
      expect(await db.count(Signal)).to.equal(0)
      expect((await signalbus.deadLetters([Signal])).map((letter) => letter.key)).to.deep.equal(ids.map((id) => ({id: String(id)})))
      expect((await signalbus.requeue([Signal], {keys: [ids[1]!]})).requeued).to.deep.equal({Signal: 1})
      expect((await signalbus.requeue([Signal], {all: true})).requeued).to.deep.equal({Signal: 2})
      expect(await rowSnapshot(db.dataSource, dialect, Signal)).to.deep.equal(before)
    })

    it('reports a key without a dead letter as missing, and with strict refuses before requeuing anything', async () => {
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 1})
      await signalbus.failureRecorder.recordFailure(failure)
      const keys = [{tenant: 'acme', seq: 1}, {tenant: 'acme', seq: 99}]
      let refused: unknown
      await signalbus.requeue([RichSignal], {keys, strict: true}).catch((error: unknown) => (refused = error))
      expect(String(refused)).to.contain('No dead letter has the key "RichSignal" tenant=acme,seq=99')
      expect(await signalbus.deadLetterCounts([RichSignal])).to.deep.equal({RichSignal: 1})
      const report = await signalbus.requeue([RichSignal], {keys})
      expect(report.requeued).to.deep.equal({RichSignal: 1})
      expect(report.missing).to.deep.equal([{model: 'RichSignal', key: {tenant: 'acme', seq: '99'}}])
    })

    it('two recorders (two connections) at the limit of one signal move it once', async () => {
      const other = new DataSource({...db.dataSource.options} as DataSourceOptions)
      await initializeForFlushing(other)
      try {
        const second = new SignalBus(other)
        for (const seq of [1, 2]) {
          const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq}, {maxAttempts: 1})
          const record = [
            () => signalbus.failureRecorder.recordFailure(failure),
            () => second.failureRecorder.recordFailure({...failure, model: second.getSignalModels().find((m) => m.name === 'RichSignal')!}),
          ]
          // better-sqlite3 waits for SQLite's write lock synchronously, so two connections of one process cannot
          // wait for each other (two processes can): on SQLite the second recorder comes right after the first.
          const outcomes =
            dialect === 'sqlite' ? [await record[0]!(), await record[1]!()] : await Promise.all(record.map((run) => run()))
          expect(outcomes.sort()).to.deep.equal(['dead-lettered', 'pending'])
        }
        expect((await signalbus.deadLetters()).map((letter) => letter.key.seq)).to.deep.equal(['1', '2'])
        expect(await attemptRows(db.dataSource), 'no attempt row is left behind').to.deep.equal({})
      } finally {
        await other.destroy()
      }
    })

    it('drops the attempt rows of signals delivered since they failed, when the model fails again', async () => {
      const first = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 5})
      await signalbus.failureRecorder.recordFailure(first)
      await signalbus.failureRecorder.recordFailure(await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 2}, {maxAttempts: 5}))
      await db.dataSource.query(`DELETE FROM ${sqlTable(db.dataSource, RichSignal)} WHERE seq = 1`)
      await signalbus.failureRecorder.recordFailure(await failureOf(signalbus, RichSignal, {tenant: 'Ümlaut-ß', seq: 3}, {maxAttempts: 5}))
      expect(await attemptRows(db.dataSource)).to.deep.equal({[key('acme', 2)]: 1, [key('Ümlaut-ß', 3)]: 1})
    })

    it('a signal delivered before its last failure was recorded is not moved and leaves no attempt row', async () => {
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 2})
      await signalbus.failureRecorder.recordFailure(failure)
      await db.dataSource.query(`DELETE FROM ${sqlTable(db.dataSource, RichSignal)} WHERE seq = 1`)
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
      expect(await attemptRows(db.dataSource)).to.deep.equal({})
      expect(await signalbus.deadLetters()).to.deep.equal([])
    })

    it('does not move a signal whose key already has a dead letter: the failure is an error and the row stays', async () => {
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 1})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1]])
      let refused: unknown
      await signalbus.failureRecorder.recordFailure(failure).catch((error: unknown) => (refused = error))
      expect((refused as Error).name).to.equal('DatabaseError')
      expect((refused as Error).message).to.match(/duplicate|unique/i)
      expect(await db.count(RichSignal), 'the new row stays pending').to.equal(3)
      expect(await signalbus.deadLetterCounts([RichSignal])).to.deep.equal({RichSignal: 1})
    })

    if (dialect === 'mariadb') {
      it('a row dead-lettered by a session at +05:00 comes back exactly through another session, which keeps its zone', async () => {
        const before = await rowSnapshot(db.dataSource, dialect, RichSignal)
        const single = new DataSource({...db.dataSource.options, extra: {connectionLimit: 1}} as DataSourceOptions)
        await initializeForFlushing(single)
        try {
          await single.query(`SET time_zone = '+05:00'`)
          const other = new SignalBus(single)
          const failure = await failureOf(other, RichSignal, {tenant: 'acme', seq: 2}, {maxAttempts: 1})
          expect(await other.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
          // Put back by a session in the server's own time zone: the TIMESTAMP must not move by five hours.
          expect((await signalbus.requeue([RichSignal], {all: true})).requeued).to.deep.equal({RichSignal: 1})
          const [zone] = (await single.query('SELECT @@session.time_zone AS zone')) as Array<{zone: string}>
          expect(zone!.zone).to.equal('+05:00')
        } finally {
          await single.destroy()
        }
        expect(await rowSnapshot(db.dataSource, dialect, RichSignal)).to.deep.equal(before)
      })
    }

    if (dialect !== 'sqlite') {
      it('leaves a signal another flusher holds locked in its table, counted, and moves it once it is free', async () => {
        const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 1})
        const holder = db.dataSource.createQueryRunner()
        try {
          await holder.startTransaction()
          await holder.query(`SELECT * FROM ${sqlTable(db.dataSource, RichSignal)} WHERE seq = 1 FOR UPDATE`)
          expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
          expect(await attemptRows(db.dataSource)).to.deep.equal({[key('acme', 1)]: 1})
          await holder.rollbackTransaction()
        } finally {
          await holder.release()
        }
        expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
        expect(await db.count(RichSignal)).to.equal(2)
      })
    }
  })

  describe(`dead letters in a schema of their own on ${dialect}`, () => {
    let db: IsolatedDatabase

    beforeEach(async () => {
      db = await IsolatedDatabase.create(dialect, deadLetterEntities(dialect), {prefix: 'app_'})
    })

    afterEach(async () => {
      await db.destroy()
    })

    it("creates the prefixed tables in the data source's schema, moves a row there and requeues it exactly", async () => {
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1], ['acme', 2]])
      const before = await rowSnapshot(db.dataSource, dialect, RichSignal)
      const signalbus = new SignalBus(db.dataSource)
      await signalbus.setup()
      expect(await db.tableNames()).to.include.members(['app_signalbus_attempts', 'app_signalbus_dead_letters'])
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 1})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
      expect(await signalbus.deadLetterCounts([RichSignal])).to.deep.equal({RichSignal: 1})
      expect((await signalbus.requeue([RichSignal], {all: true})).requeued).to.deep.equal({RichSignal: 1})
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal)).to.deep.equal(before)
    })
  })

  describe(`without signalbus setup on ${dialect}`, () => {
    let db: IsolatedDatabase

    beforeEach(async () => {
      db = await IsolatedDatabase.create(dialect, deadLetterEntities(dialect), {prefix: 'app_'})
    })

    afterEach(async () => {
      await db.destroy()
    })

    async function schemaSnapshot(): Promise<Record<string, string[]>> {
      const tables = await db.tableNames()
      return Object.fromEntries(await Promise.all(tables.map(async (table) => [table, await db.columnNames(table)] as const)))
    }

    it('recording failures and failing flushes write nothing: the schema is byte-for-byte unchanged', async () => {
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1]])
      await db.dataSource.getRepository(Signal).insert([{payload: 'p0', tags: ['a']}])
      const schemaBefore = await schemaSnapshot()
      const rowsBefore = await rowSnapshot(db.dataSource, dialect, RichSignal)
      const warnings: string[] = []
      const logger = {...silentLogger, warn: (message: string) => warnings.push(message)}
      const signalbus = new SignalBus(db.dataSource, {logger})
      const failure = await failureOf(signalbus, RichSignal, {tenant: 'acme', seq: 1}, {maxAttempts: 1})
      for (let attempt = 0; attempt < 3; attempt++) expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('pending')
      expect(warnings, 'one warning says why nothing moves').to.deep.equal([
        "Failing signals stay pending: signalbus's dead-letter tables do not exist (run `signalbus setup --apply`).",
      ])
      controls.failOnPayload = 'p0'
      try {
        const report = await signalbus.flushmanyReport([Signal], {maxAttempts: 1})
        expect(report.failedSignals['Signal']).to.include({pending: 1, deadLettered: 0})
      } finally {
        controls.failOnPayload = undefined
      }
      expect(await schemaSnapshot()).to.deep.equal(schemaBefore)
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal)).to.deep.equal(rowsBefore)
      expect(await signalbus.deadLetterCounts()).to.equal(null)
      expect((await signalbus.status([Signal]))[0]!.deadLetters).to.equal(null)
      for (const name of Object.values(bookkeepingNames(db.dataSource))) expect(await hasTable(db.dataSource, name)).to.equal(false)
      let refused: unknown
      await signalbus.deadLetters().catch((error: unknown) => (refused = error))
      expect((refused as Error).name).to.equal('BookkeepingNotSetUpError')
      expect((refused as Error).message).to.contain('signalbus setup --apply')
    })
  })
}

for (const dialect of ['postgres', 'mariadb'] as const) {
  const ComputedSignal = ComputedSignalOn[dialect]

  describe(`dead letters of a table with columns the database computes, on ${dialect}`, () => {
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: [ComputedSignal]})
    })

    afterEach(async () => {
      await dropBookkeeping(db.dataSource)
      await db.destroy()
    })

    it('requeues an identity key the database generates ALWAYS, and leaves generated columns to the database', async () => {
      await db.dataSource.getRepository(ComputedSignal).insert([{quantity: 5}, {quantity: 7}])
      const before = await rowSnapshot(db.dataSource, dialect, ComputedSignal)
      const signalbus = new SignalBus(db.dataSource)
      await signalbus.setup()
      const [row] = (await db.dataSource.query(`SELECT id FROM ${sqlTable(db.dataSource, ComputedSignal)} ORDER BY id DESC`)) as Array<{id: number}>
      const failure = await failureOf(signalbus, ComputedSignal, {id: row!.id}, {maxAttempts: 1})
      expect(await signalbus.failureRecorder.recordFailure(failure)).to.equal('dead-lettered')
      const report = await signalbus.requeue([ComputedSignal], {all: true})
      expect(report.failed).to.deep.equal([])
      expect(report.requeued).to.deep.equal({ComputedSignal: 1})
      expect(await rowSnapshot(db.dataSource, dialect, ComputedSignal)).to.deep.equal(before)
    })
  })
}
