// A fast --repeat on a quiet outbox: idle rounds print nothing (text or --json), and on MariaDB and SQLite,
// where --listen does not exist, an idle round costs one query per model (no transaction, no commit).
import {expect} from 'chai'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {delay, flushJsonLines, waitFor, watch} from '../helpers/flushing.js'
import {startCli} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

describe('quiet --repeat rounds', function () {
  for (const dialect of ['mariadb', 'sqlite'] as const) {
    it(`an idle round on ${dialect} is one query per model, and --json prints only rounds that did something`, async function () {
      const db = await TestDatabase.create(dialect)
      try {
        const started = startCli(['flushmany', '--repeat', '0.2', '--json'], {env: db.env({SIGNALBUS_TEST_LOGGING: '1'})})
        const watched = watch(started)
        const probes = (): number => watched.stderr.split('\n').filter((line) => line.startsWith('query: SELECT 1 AS found')).length
        await waitFor('five idle rounds', () => probes() >= 3 * 5 || (watched.exited && watched.assertRunningQuietly()), {timeoutMs: 20_000})
        expect(watched.stdout, 'idle rounds print nothing').to.equal('')
        await db.insertSignals(3)
        await waitFor('the round that sent', () => watched.stdout.includes('\n') || (watched.exited && watched.stdout))
        await delay(600)
        started.child.kill('SIGTERM')
        const result = await started.done
        expect(result.code, result.stderr).to.equal(0)
        const rounds = flushJsonLines(result.stdout)
        expect(rounds.map((round) => round.sent)).to.deep.equal([3])

        // The query log of the idle rounds before the insert: only the probe, one per model per round.
        const tables = [Signal, CompositeSignal, BatchSignal].map((entity) => db.dataSource.getMetadata(entity).tableName)
        const queries = result.stderrLines.filter((line) => line.startsWith('query: '))
        const firstClaim = queries.findIndex((line) => /SET TRANSACTION|START TRANSACTION|BEGIN|FOR UPDATE|DELETE/.test(line))
        expect(firstClaim, 'the claim after the insert').to.be.greaterThan(0)
        const idle = queries.slice(0, firstClaim).filter((line) => tables.some((table) => line.includes(table)) || /COMMIT|START|BEGIN/.test(line))
        expect(idle.length, 'several idle rounds').to.be.at.least(3 * 5)
        for (const line of idle) expect(line).to.match(/^query: SELECT 1 AS found FROM \S+ ORDER BY .+ LIMIT 1$/)
      } finally {
        await db.destroy()
      }
    })
  }
})
