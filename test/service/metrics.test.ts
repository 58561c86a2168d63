// --metrics-port through the real binary on every dialect: /metrics scraped during and after a flush, the
// counters against what the models delivered, failures, the backlog gauges against the table, and a taken port.
import {expect} from 'chai'
import net from 'node:net'
import {SignalBus} from '../../src/index.js'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {BatchSignal, Signal} from '../fixtures/signals/entities.js'
import {closedPort} from '../helpers/faults.js'
import {expectOneErrorLine, sentPayloads, waitFor, watch} from '../helpers/flushing.js'
import {probe, sample, scrape, total} from '../helpers/metrics.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {readSentLog, TestDatabase} from '../helpers/test-database.js'

describe('--metrics-port', function () {
  for (const dialect of DIALECTS) {
    describe(dialect, function () {
      let db: TestDatabase

      beforeEach(async function () {
        db = await TestDatabase.create(dialect)
      })

      afterEach(async function () {
        await db.destroy()
      })

      it('counts the signals delivered per model, during and after a flush, in Prometheus text format', async function () {
        await db.insertSignals(200)
        await db.insert(BatchSignal, Array.from({length: 30}, (_, index) => ({payload: `b${index}`})))
        const sentLog = db.newSentLog()
        const port = await closedPort()
        const started = startCli(['flushmany', '--repeat', '30', '--burst', '10', '--metrics-port', String(port)], {
          env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_SEND_DELAY_MS: '80'}),
        })
        const watched = watch(started)
        try {
          const during = await waitFor('a scrape in the middle of the flush', async () => {
            const {status} = await probe(port, '/healthz')
            if (status === 0) return watched.assertRunningQuietly()
            const scraped = await scrape(port)
            const sent = sample(scraped, 'signalbus_signals_sent_total', {model: 'Signal'})!
            return sent > 0 && sent < 200 ? {scraped, sent} : false
          }, {timeoutMs: 30_000})
          expect(during.sent % 10, 'whole bursts of 10 are counted').to.equal(0)
          expect(sentPayloads(readSentLog(sentLog)).length, 'delivered so far').to.be.at.least(during.sent)

          await waitFor('every row delivered', () => readSentLog(sentLog).length === 230 || watched.assertRunningQuietly(), {
            timeoutMs: 30_000,
          })
          const after = await waitFor('the counters to catch up', async () => {
            const scraped = await scrape(port)
            return total(scraped, 'signalbus_signals_sent_total') === 230 && scraped
          })
          const delivered = readSentLog(sentLog)
          expect(sample(after, 'signalbus_signals_sent_total', {model: 'Signal'})).to.equal(sentPayloads(delivered, 'Signal').length)
          expect(sample(after, 'signalbus_signals_sent_total', {model: 'BatchSignal'})).to.equal(
            sentPayloads(delivered, 'BatchSignal').length,
          )
          expect(sample(after, 'signalbus_signals_sent_total', {model: 'CompositeSignal'})).to.equal(0)
          expect(sample(after, 'signalbus_send_failures_total', {model: 'Signal'})).to.equal(0)
          expect(sample(after, 'signalbus_dead_lettered_total', {model: 'Signal'})).to.equal(0)
          // The parser keeps a histogram's buckets only; its count is read from the text.
          expect(after.text, 'bursts observed').to.include('signalbus_burst_duration_seconds_count{model="Signal"} 20\n')
          expect(sample(after, 'signalbus_rounds_total', {result: 'sent'}), 'one round per model that sent').to.equal(2)
          expect(sample(after, 'process_cpu_seconds_total'), 'default process metrics').to.be.a('number')
          const types = Object.fromEntries(after.families.map((family) => [family.name, family.type]))
          expect(types).to.include({
            signalbus_signals_sent_total: 'COUNTER',
            signalbus_send_failures_total: 'COUNTER',
            signalbus_dead_lettered_total: 'COUNTER',
            signalbus_pending_signals: 'GAUGE',
            signalbus_oldest_pending_seconds: 'GAUGE',
            signalbus_burst_duration_seconds: 'HISTOGRAM',
            signalbus_rounds_total: 'COUNTER',
          })
        } finally {
          started.child.kill('SIGTERM')
        }
        const result = await started.done
        expect(result.code, result.stderr).to.equal(0)
        expect(await probe(port, '/healthz'), 'the server stops with the loop').to.deep.equal({status: 0, body: {}})
      })

      it('counts failed sends, and serves pending and oldest-age gauges that match the table', async function () {
        await db.insert(
          Signal,
          Array.from({length: 12}, (_, index) => ({payload: `p${index}`, tags: ['a'], createdAt: new Date(Date.now() - 120_000)})),
        )
        const port = await closedPort()
        const started = startCli(['flushmany', 'Signal', '--repeat', '30', '--burst', '5', '--metrics-port', String(port)], {
          env: db.env({SIGNALBUS_TEST_FAIL_ON_PAYLOAD: 'p0'}),
        })
        const watched = watch(started)
        try {
          // Wait on /readyz, not /metrics: the first scrape reads the backlog, which is then served for 5 s.
          await waitFor('the first round', async () => {
            const ready = await probe(port, '/readyz')
            return ready.body['roundFinished'] === true || (watched.exited && watched.assertRunningQuietly())
          }, {timeoutMs: 30_000})
          const scraped = await scrape(port)
          expect(sample(scraped, 'signalbus_rounds_total', {result: 'failed'})).to.equal(1)
          // The failing burst of 5 is narrowed down to its one failing signal: every failed send counts its signals.
          expect(sample(scraped, 'signalbus_send_failures_total', {model: 'Signal'}), 'the failed sends').to.be.at.least(5)
          expect(sample(scraped, 'signalbus_signals_sent_total', {model: 'Signal'}), 'the others delivered').to.equal(11)
          expect(await db.count(Signal), 'the failing signal stays').to.equal(1)
          expect(sample(scraped, 'signalbus_pending_signals', {model: 'Signal'})).to.equal(await db.count(Signal))
          const [status] = await new SignalBus(db.dataSource).status(['Signal'])
          const oldest = sample(scraped, 'signalbus_oldest_pending_seconds', {model: 'Signal'})!
          expect(oldest, 'about two minutes').to.be.within(115, 135)
          expect(Math.abs(oldest - status!.oldestPendingSeconds!), 'as `signals` measures it').to.be.at.most(3)
          expect(sample(scraped, 'signalbus_pending_signals', {model: 'BatchSignal'}), 'models not flushed').to.equal(undefined)
          const ready = await probe(port, '/readyz')
          expect(ready.status, 'a model failing on its own signal is still ready').to.equal(200)
        } finally {
          started.child.kill('SIGTERM')
        }
        const result = await started.done
        expect(result.code).to.equal(0)
        const errors = result.stderrLines.filter((line) => line.startsWith('Error:'))
        expect(errors.length, result.stderr).to.be.at.least(1)
        expect(errors[0]).to.include('the broker refused payload "p0"')
      })
    })
  }

  it('exits 2 with one line, sending nothing, when the port is taken', async function () {
    const db = await TestDatabase.create('postgres')
    const taken = net.createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', () => resolve()))
    try {
      await db.insertSignals(3)
      const port = (taken.address() as net.AddressInfo).port
      const result = await runCli(['flushmany', '--repeat', '1', '--metrics-port', String(port)], {env: db.env()})
      const line = expectOneErrorLine(result, 2)
      expect(line).to.equal(`Error: Cannot serve metrics on 127.0.0.1:${port}: the port is already in use.`)
      expect(await db.count(Signal), 'nothing sent').to.equal(3)
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()))
      await db.destroy()
    }
  })

  it('takes the port from SIGNALBUS_METRICS_PORT and serves a one-shot flush while it runs', async function () {
    const db = await TestDatabase.create('sqlite')
    try {
      await db.insertSignals(4)
      const port = await closedPort()
      const started = startCli(['flushmany', '--json'], {
        env: db.env({SIGNALBUS_METRICS_PORT: String(port), SIGNALBUS_TEST_SEND_DELAY_MS: '400'}),
      })
      const watched = watch(started)
      const scraped = await waitFor('a scrape during the flush', async () =>
        (await probe(port, '/healthz')).status === 200 ? scrape(port) : watched.assertRunningQuietly(),
      )
      expect(sample(scraped, 'signalbus_signals_sent_total', {model: 'Signal'})).to.be.below(4)
      const result = await started.done
      expect(result.code, result.stderr).to.equal(0)
      expect(JSON.parse(result.stdout).sent).to.equal(4)
      expect(result.stderrLines).to.deep.equal([])
    } finally {
      await db.destroy()
    }
  })
})
