// --listen through the real binary: a committed insert wakes a --repeat 30 loop within a second, a 500-row
// transaction makes a handful of rounds, the listener survives pg_terminate_backend, a table without the
// trigger is polled after one warning, and databases without LISTEN/NOTIFY are a configuration error.
import {expect} from 'chai'
import {listenTriggerStatements, SignalBus} from '../../src/index.js'
import {Signal} from '../fixtures/signals/entities.js'
import {closedPort, killSession, localPortsOf} from '../helpers/faults.js'
import {expectOneErrorLine, waitFor, watch} from '../helpers/flushing.js'
import {probe, scrape, total} from '../helpers/metrics.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {readSentLog, TestDatabase} from '../helpers/test-database.js'

describe('--listen', function () {
  describe('postgres', function () {
    let db: TestDatabase

    beforeEach(async function () {
      db = await TestDatabase.create('postgres')
    })

    afterEach(async function () {
      await db.destroy()
    })

    async function installTriggers(): Promise<void> {
      const [signal] = new SignalBus(db.dataSource).getSignalModels().filter((model) => model.name === 'Signal')
      for (const statement of listenTriggerStatements(db.dataSource, [signal!])) await db.dataSource.query(statement)
    }

    async function startListening(repeat: string) {
      const sentLog = db.newSentLog()
      const port = await closedPort()
      const started = startCli(['flushmany', 'Signal', '--repeat', repeat, '--listen', '--metrics-port', String(port)], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
      })
      const watched = watch(started)
      await waitFor('the first round', async () => (await probe(port, '/readyz')).status === 200 || (watched.exited && watched.assertRunningQuietly()), {
        timeoutMs: 30_000,
      })
      const rounds = async (): Promise<number> => total(await scrape(port), 'signalbus_rounds_total')
      const delivered = (): number => readSentLog(sentLog).length
      const stop = async () => {
        started.child.kill('SIGTERM')
        const result = await started.done
        expect(result.code, result.stderr).to.equal(0)
        return result
      }
      return {started, watched, rounds, delivered, stop}
    }

    it('delivers a committed row within 1 s, and 500 rows of one transaction in a handful of rounds', async function () {
      await installTriggers()
      const flusher = await startListening('30')
      try {
        const before = performance.now()
        await db.insertSignals(1)
        await waitFor('the row delivered', () => flusher.delivered() === 1, {timeoutMs: 1000, intervalMs: 10})
        const milliseconds = performance.now() - before
        console.log(`      (insert → delivered in ${Math.round(milliseconds)} ms with --repeat 30)`)

        const roundsBefore = await flusher.rounds()
        await db.dataSource.transaction(async (manager) => {
          for (let index = 0; index < 500; index++) await manager.insert(Signal, {payload: `t${index}`, tags: ['a']})
        })
        await waitFor('the 500 rows delivered', () => flusher.delivered() === 501, {timeoutMs: 5000})
        const rounds = (await flusher.rounds()) - roundsBefore
        console.log(`      (500 inserts in one transaction: ${rounds} round(s))`)
        expect(rounds, 'rounds for 500 inserted rows').to.be.within(1, 5)
      } finally {
        const result = await flusher.stop()
        expect(result.stderrLines).to.deep.equal([])
      }
    })

    it('listens again after its connection is terminated', async function () {
      await installTriggers()
      const flusher = await startListening('30')
      try {
        const pid = flusher.started.child.pid!
        const listening = await waitFor('the LISTEN session', async () => {
          const rows = (await db.dataSource.query(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'signalbus listen' AND client_port = ANY($1::int[])`,
            [localPortsOf(pid, 5432)],
          )) as Array<{pid: number}>
          return rows[0]?.pid
        })
        await killSession(db, Number(listening))
        await waitFor('a new LISTEN session', async () => {
          const rows = (await db.dataSource.query(
            `SELECT pid FROM pg_stat_activity WHERE application_name = 'signalbus listen' AND client_port = ANY($1::int[]) AND pid <> $2`,
            [localPortsOf(pid, 5432), listening],
          )) as unknown[]
          return rows.length === 1
        })
        await db.insertSignals(1)
        await waitFor('the row delivered', () => flusher.delivered() === 1, {timeoutMs: 1000, intervalMs: 10})
      } finally {
        const result = await flusher.stop()
        expect(result.stderrLines).to.have.length(1)
        expect(result.stderrLines[0]).to.match(/^Warning: The LISTEN connection to PostgreSQL was lost \(.*\); reconnecting/)
      }
    })

    it('warns once and polls a table without the trigger', async function () {
      const flusher = await startListening('1')
      try {
        await db.insertSignals(1)
        await waitFor('the row delivered by polling', () => flusher.delivered() === 1, {timeoutMs: 3000})
      } finally {
        const result = await flusher.stop()
        expect(result.stderrLines).to.have.length(1)
        expect(result.stderrLines[0]).to.match(
          /^Warning: --listen: "sbt_\w+_signal" has no signalbus NOTIFY trigger and is polled every 1s; `signalbus setup --apply` installs the triggers\.$/,
        )
      }
    })
  })

  for (const dialect of ['mariadb', 'sqlite'] as const) {
    it(`is a configuration error on ${dialect} (exit 2), sending nothing`, async function () {
      const db = await TestDatabase.create(dialect)
      try {
        await db.insertSignals(2)
        const result = await runCli(['flushmany', '--repeat', '1', '--listen'], {env: db.env()})
        const line = expectOneErrorLine(result, 2)
        expect(line).to.match(/^Error: --listen needs PostgreSQL \(LISTEN\/NOTIFY\); this data source is "(mariadb|better-sqlite3)"\./)
        expect(await db.count(Signal)).to.equal(2)
      } finally {
        await db.destroy()
      }
    })
  }

  it('needs --repeat (exit 2)', async function () {
    const result = await runCli(['flushmany', '--listen'], {env: {SIGNALBUS_DATA_SOURCE: '/nonexistent.js'}})
    expect(expectOneErrorLine(result, 2)).to.equal('Error: --listen wakes the --repeat loop: give --repeat SECONDS too.')
  })
})
