// `signalbus dead-letters`, `signalbus requeue` and the DEAD column of `signalbus signals`, through the real binary.
// The signals are moved to the dead letters by the recorder in this process, as the engine would after failed sends.
import {expect} from 'chai'
import {SignalBus} from '../../src/index.js'
import {deadLetterEntities, RichSignalOn} from '../fixtures/dead-letters/entities.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {Signal} from '../fixtures/signals/entities.js'
import {dropBookkeeping, failureOf, insertRichRows, rowSnapshot, sqlTable} from '../helpers/dead-letters.js'
import {expectOneErrorLine} from '../helpers/flushing.js'
import {tableRecords} from '../helpers/inspection.js'
import {runCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 30_000

interface DeadLettersJson {
  deadLetters: Array<{model: string; key: Record<string, string>; error: string; attempts: number; firstFailedAt: string; lastFailedAt: string}>
}

for (const dialect of DIALECTS) {
  const RichSignal = RichSignalOn[dialect]

  describe(`signalbus dead-letters and requeue on ${dialect}`, () => {
    let db: TestDatabase
    let signalbus: SignalBus

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: deadLetterEntities(dialect), fixture: 'dead-letters/cli-data-source.js'})
      signalbus = new SignalBus(db.dataSource)
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 1], ['acme', 2], ['beta', 1]])
    })

    afterEach(async () => {
      await dropBookkeeping(db.dataSource)
      await db.destroy()
    })

    const cli = (args: string[]): Promise<CliResult> => runCli(args, {env: db.env(), timeoutMs: CLI_TIMEOUT_MS})

    /** Sets up and moves the RichSignal rows with these keys to the dead letters after 3 recorded failures each. */
    async function deadLetter(keys: Array<[string, number]>): Promise<void> {
      await signalbus.setup()
      for (const [tenant, seq] of keys) {
        const failure = await failureOf(signalbus, RichSignal, {tenant, seq}, {maxAttempts: 3, error: new Error(`refused ${tenant}/${seq}`)})
        for (let attempt = 0; attempt < 3; attempt++) await signalbus.failureRecorder.recordFailure(failure)
      }
    }

    for (const command of [['dead-letters'], ['requeue', '--all']]) {
      it(`${command[0]} without signalbus setup exits 2 with one line saying to run signalbus setup --apply`, async () => {
        const line = expectOneErrorLine(await cli(command), 2)
        expect(line).to.contain('run `signalbus setup --apply` first')
      })
    }

    it('signals shows DEAD as - and deadLetters null without the tables, and the count per model with them', async () => {
      const before = await cli(['signals', '--json'])
      expect(before.code).to.equal(0)
      const entries = (JSON.parse(before.stdout) as {signals: Array<Record<string, unknown>>}).signals
      expect(Object.keys(entries[0]!)).to.deep.equal(['name', 'table', 'burstCount', 'orderingKey', 'pending', 'oldestPendingSeconds', 'deadLetters'])
      expect(entries.map((entry) => entry['deadLetters'])).to.deep.equal([null, null, null, null])
      expect(tableRecords((await cli(['signals', '-m', 'RichSignal'])).stdout)[0]!['DEAD']).to.equal('-')

      await deadLetter([['acme', 2], ['beta', 1]])
      const after = await cli(['signals', '--json'])
      const counts = (JSON.parse(after.stdout) as {signals: Array<{name: string; pending: number; deadLetters: number}>}).signals
      expect(counts.map((entry) => [entry.name, entry.pending, entry.deadLetters])).to.have.deep.members([
        ['RichSignal', 1, 2], ['Signal', 0, 0], ['CompositeSignal', 0, 0], ['BatchSignal', 0, 0],
      ])
      const human = await cli(['signals', '-m', 'RichSignal'])
      expect(human.stdout.split('\n')[0]!.trim().split(/\s+/)).to.deep.equal(['NAME', 'TABLE', 'BURST', 'ORDERING', 'PENDING', 'DEAD', 'OLDEST'])
      expect(tableRecords(human.stdout)[0]).to.include({NAME: 'RichSignal', PENDING: '1', DEAD: '2'})
    })

    it('dead-letters --json lists {model, key, error, attempts, firstFailedAt, lastFailedAt} with ISO times and keys as objects', async () => {
      await deadLetter([['acme', 2], ['beta', 1]])
      const result = await cli(['dead-letters', '--json'])
      expect(result.stderrLines).to.deep.equal([])
      expect(result.code).to.equal(0)
      const parsed = JSON.parse(result.stdout) as DeadLettersJson
      expect(Object.keys(parsed)).to.deep.equal(['deadLetters'])
      expect(parsed.deadLetters.map(({firstFailedAt: _first, lastFailedAt: _last, ...rest}) => rest)).to.deep.equal([
        {model: 'RichSignal', key: {tenant: 'acme', seq: '2'}, error: 'refused acme/2', attempts: 3},
        {model: 'RichSignal', key: {tenant: 'beta', seq: '1'}, error: 'refused beta/1', attempts: 3},
      ])
      for (const letter of parsed.deadLetters) {
        expect(Object.keys(letter)).to.deep.equal(['model', 'key', 'error', 'attempts', 'firstFailedAt', 'lastFailedAt'])
        expect(letter.lastFailedAt).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
        expect(Math.abs(Date.parse(letter.lastFailedAt) - Date.now())).to.be.below(60_000)
        expect(Date.parse(letter.firstFailedAt)).to.be.at.most(Date.parse(letter.lastFailedAt))
      }
      const none = await cli(['dead-letters', 'Signal', '--json'])
      expect(JSON.parse(none.stdout)).to.deep.equal({deadLetters: []})
      const human = await cli(['dead-letters'])
      expect(human.code).to.equal(0)
      expect(tableRecords(human.stdout).map((row) => [row['MODEL'], row['KEY'], row['ATTEMPTS'], row['ERROR']])).to.deep.equal([
        ['RichSignal', 'tenant=acme,seq=2', '3', 'refused acme/2'],
        ['RichSignal', 'tenant=beta,seq=1', '3', 'refused beta/1'],
      ])
    })

    it('requeue --key col=value,col=value puts one composite-key signal back exactly; --all the rest', async () => {
      const before = await rowSnapshot(db.dataSource, dialect, RichSignal)
      await deadLetter([['acme', 2], ['beta', 1]])
      const one = await cli(['requeue', 'RichSignal', '--key', 'seq=1,tenant=beta', '--json'])
      expect(one.stderrLines).to.deep.equal([])
      expect(one.code).to.equal(0)
      expect(JSON.parse(one.stdout)).to.deep.equal({requeued: {RichSignal: 1}})
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal)).to.deep.equal([before[0], before[2]])
      const rest = await cli(['requeue', '--all'])
      expect(rest.stderrLines).to.deep.equal([])
      expect(rest.code).to.equal(0)
      expect(rest.stdout).to.equal('1 dead letter(s) requeued (RichSignal 1).\n')
      expect(await rowSnapshot(db.dataSource, dialect, RichSignal), 'byte for byte as before').to.deep.equal(before)
      expect(JSON.parse((await cli(['dead-letters', '--json'])).stdout)).to.deep.equal({deadLetters: []})
    })

    it('requeue --key of a one-column key takes the value as it is', async () => {
      await db.insertSignals(2)
      const [first] = (await db.dataSource.query(`SELECT id FROM ${sqlTable(db.dataSource, Signal)} ORDER BY id`)) as Array<{id: number}>
      await signalbus.setup()
      await signalbus.failureRecorder.recordFailure(await failureOf(signalbus, Signal, {id: first!.id}, {maxAttempts: 1}))
      expect(await db.count(Signal)).to.equal(1)
      const result = await cli(['requeue', 'Signal', '--key', String(first!.id), '--json'])
      expect(result.code).to.equal(0)
      expect(JSON.parse(result.stdout)).to.deep.equal({requeued: {Signal: 1}})
      expect(await db.count(Signal)).to.equal(2)
    })

    it('requeue warns about a key without a dead letter; with --strict it exits 2 and requeues nothing', async () => {
      await deadLetter([['acme', 2]])
      const strict = await cli(['requeue', 'RichSignal', '--key', 'tenant=acme,seq=2', '--key', 'tenant=acme,seq=9', '--strict'])
      expect(expectOneErrorLine(strict, 2)).to.contain('tenant=acme,seq=9')
      expect(await db.count(RichSignal)).to.equal(2)
      const lenient = await cli(['requeue', 'RichSignal', '--key', 'tenant=acme,seq=2', '--key', 'tenant=acme,seq=9'])
      expect(lenient.code).to.equal(0)
      expect(lenient.stderrLines).to.deep.equal(['Warning: No dead letter of "RichSignal" has the key tenant=acme,seq=9.'])
      expect(lenient.stdout).to.equal('1 dead letter(s) requeued (RichSignal 1).\n')
    })

    it('requeue exits 2 without --key or --all, with --key for several models, and with a key missing a column', async () => {
      await signalbus.setup()
      expect(expectOneErrorLine(await cli(['requeue']), 2)).to.contain('--key K (repeatable) or --all')
      expect(expectOneErrorLine(await cli(['requeue', '--key', '1']), 2)).to.contain('--key needs exactly one model')
      expect(expectOneErrorLine(await cli(['requeue', 'RichSignal', '--key', 'tenant=acme']), 2)).to.contain('missing seq')
    })

    it('requeue exits 1 and keeps the dead letter when its key is taken again in the table', async () => {
      await deadLetter([['acme', 2]])
      await insertRichRows(db.dataSource, dialect, RichSignal, [['acme', 2]])
      const result = await cli(['requeue', '--all', '--json'])
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      expect(result.stderrLines[0]).to.match(/^Error: Requeuing "RichSignal" tenant=acme,seq=2 failed: .*(duplicate|unique)/i)
      expect(result.stderrLines[0]!.split('Requeuing').length, 'the dead letter is named once').to.equal(2)
      expect((JSON.parse(result.stdout) as {requeued: Record<string, number>}).requeued).to.deep.equal({
        RichSignal: 0, Signal: 0, CompositeSignal: 0, BatchSignal: 0,
      })
      expect((await signalbus.deadLetters()).map((letter) => letter.key)).to.deep.equal([{tenant: 'acme', seq: '2'}])
    })
  })
}
