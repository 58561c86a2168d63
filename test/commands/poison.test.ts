// Poison containment through the real binary: a failing signal among many is set aside and everything else is
// delivered (on the real RabbitMQ queue, and in the fixtures' sent log on every dialect); systemic failures stop
// the model after one attempt; kill -9 while narrowing loses nothing; parallel flushers deliver every good row
// once; and in --repeat mode a failing model does not slow a healthy one down.
import {expect} from 'chai'
import {DIALECTS} from '../fixtures/signals/data-sources.js'
import {RabbitSignal} from '../fixtures/rabbitmq/entities.js'
import {BatchSignal, CompositeSignal, Signal} from '../fixtures/signals/entities.js'
import {readCallLog} from '../fixtures/signals/test-controls.js'
import {BrokerProxy, account, closedPort, pendingKeys, sessionExists, sessionsOf, summary} from '../helpers/faults.js'
import {
  byNumber,
  delay,
  flushJson,
  pendingPayloads,
  readSentLogs,
  sentPayloads,
  signalPayloads,
  summaryLine,
  waitFor,
  watch,
} from '../helpers/flushing.js'
import {
  consumeMessageIds,
  extraSends,
  extraSendsPerFailingSignal,
  insertManyRabbitSignals,
  insertManySignals,
  randomPositions,
} from '../helpers/poison.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'
import {runCli, startCli} from '../helpers/run-cli.js'
import {TestDatabase, duplicates, readSentLog} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 90_000
const FAILING_LINE = /^Error: (\d+) signal\(s\) of "(\w+)" failed and stay pending \(first: (id=\d+): (.*)\)$/
const GAVE_UP_LINE = /^Error: Sending signals of "\w+" fails whatever the split \(\d+ signals in a row failed on their own/

describe('signalbus flushmany into RabbitMQ with a poison row (postgres)', function () {
  this.timeout(120_000)
  let db: TestDatabase
  let queue: TestQueue
  let proxy: BrokerProxy | undefined

  beforeEach(async () => {
    db = await TestDatabase.create('postgres', {entities: [RabbitSignal], fixture: 'rabbitmq/cli-data-source.js'})
    queue = await TestQueue.create()
  })

  afterEach(async () => {
    await proxy?.close()
    proxy = undefined
    await queue.destroy()
    await db.destroy()
  })

  const env = (extra: Record<string, string> = {}): Record<string, string> =>
    db.env({SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, SIGNALBUS_TEST_ROUTING_KEY: queue.name, ...extra})

  it('1 failing row among 100,000 (burst 1,000): the queue holds every other row exactly once after one run; exit 1, the row pending', async () => {
    const keys = await insertManyRabbitSignals(db, RabbitSignal, 100_000)
    const callLog = db.newSentLog()
    const result = await runCli(['flushmany', '--json'], {
      env: env({SIGNALBUS_TEST_FAIL_ON_PAYLOADS: 'm61234', SIGNALBUS_TEST_CALL_LOG: callLog}),
      timeoutMs: CLI_TIMEOUT_MS,
    })
    expect(result.code, `exit code (stderr: ${result.stderr})`).to.equal(1)
    expect(result.stderrLines, 'stderr').to.have.length(1)
    const [, count, model, key, error] = FAILING_LINE.exec(result.stderrLines[0]!) ?? []
    expect([count, model, key]).to.deep.equal(['1', 'RabbitSignal', `id=${keys[61234]}`])
    expect(error).to.contain('not JSON-serialisable')
    const report = flushJson(result.stdout)
    expect(report.sent).to.equal(99_999)
    expect(report.failedSignals['RabbitSignal']).to.deep.include({pending: 1, deadLettered: 0})
    const delivered = await consumeMessageIds(queue.name, 99_999)
    expect(duplicates(delivered), 'delivered twice').to.deep.equal([])
    expect(delivered).to.have.length(99_999)
    const pending = await pendingKeys(db, RabbitSignal)
    expect(pending).to.deep.equal([keys[61234]])
    expect(account(keys, delivered, pending).lost).to.deep.equal([])
    const calls = readCallLog(callLog)
    const extra = extraSends(calls, 100_000, 1000, 'RabbitSignal')
    expect(extra, 'extra send calls').to.be.at.most(extraSendsPerFailingSignal(1000))
    console.log(`      (${calls.length} send calls, ${extra} extra; ${Math.round(result.milliseconds)} ms; ${result.stderrLines[0]})`)
  })

  it('RabbitMQ unreachable: one send attempt, exit 1 within seconds, nothing counted as failing, every row pending', async () => {
    const keys = await insertManyRabbitSignals(db, RabbitSignal, 3000)
    const callLog = db.newSentLog()
    const url = `amqp://guest:guest@127.0.0.1:${await closedPort()}`
    const result = await runCli(['flushmany', '--json'], {
      env: env({SIGNALBUS_RABBITMQ_URL: url, SIGNALBUS_TEST_CALL_LOG: callLog}),
      timeoutMs: CLI_TIMEOUT_MS,
    })
    expect(result.code).to.equal(1)
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Error: Sending 1000 signal\(s\) of "RabbitSignal" failed: Could not connect to RabbitMQ/)
    expect(result.milliseconds, 'ms until the exit').to.be.below(10_000)
    expect(flushJson(result.stdout)).to.deep.include({sent: 0, failedSignals: {}, deadLettered: 0})
    expect(readCallLog(callLog), 'send calls').to.have.length(1)
    expect(await pendingKeys(db, RabbitSignal)).to.have.members(keys)
  })

  it('the broker connection cut mid-burst: that burst fails once, the model stops with exit 1, nothing counted as failing, nothing lost', async () => {
    const keys = await insertManyRabbitSignals(db, RabbitSignal, 5000)
    const callLog = db.newSentLog()
    proxy = await BrokerProxy.start()
    const brokerProxy = proxy
    const started = startCli(['flushmany', '--burst', '100', '--json'], {
      env: env({SIGNALBUS_RABBITMQ_URL: brokerProxy.url, SIGNALBUS_TEST_SEND_DELAY_MS: '50', SIGNALBUS_TEST_CALL_LOG: callLog}),
      timeoutMs: CLI_TIMEOUT_MS,
    })
    const running = watch(started)
    await waitFor('two bursts delivered', () => readCallLog(callLog).length >= 2 || running.assertRunningQuietly(), {timeoutMs: 15_000})
    brokerProxy.hold()
    await waitFor('a burst stuck unconfirmed', () => brokerProxy.heldBytes > 2000 || running.assertRunningQuietly(), {timeoutMs: 10_000})
    brokerProxy.cut()
    const result = await started.done
    expect(result.code).to.equal(1)
    expect(result.stderrLines).to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Error: Sending 100 signal\(s\) of "RabbitSignal" failed: .*not confirmed/)
    const report = flushJson(result.stdout)
    expect(report.failedSignals).to.deep.equal({})
    const calls = readCallLog(callLog)
    expect(calls.filter((call) => call.failed), 'failed send calls').to.have.length(1)
    expect(calls.at(-1)!.failed, 'no send after the failed one').to.equal(true)
    const delivered = await consumeMessageIds(queue.name, keys.length)
    const pending = await pendingKeys(db, RabbitSignal)
    expect(account(keys, delivered, pending).lost).to.deep.equal([])
    expect(pending.length).to.equal(keys.length - report.sent)
    console.log(`      (${calls.length} send calls, 1 failed; ${report.sent} sent, ${pending.length} pending)`)
  })
})

for (const dialect of DIALECTS) {
  describe(`signalbus flushmany with failing signals on ${dialect}`, function () {
    this.timeout(120_000)
    let db: TestDatabase

    beforeEach(async () => {
      db = await TestDatabase.create(dialect)
    })

    afterEach(async () => {
      await db.destroy()
    })

    it('10 failing rows at random positions among 2,000: one error line for the model, --json counts, every other row sent once', async () => {
      await insertManySignals(db, 2000)
      const failing = randomPositions(2000, 10).map((position) => `p${position}`)
      const sentLog = db.newSentLog()
      const callLog = db.newSentLog()
      const result = await runCli(['flushmany', 'Signal', '--burst', '250', '--json'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog, SIGNALBUS_TEST_CALL_LOG: callLog, SIGNALBUS_TEST_FAIL_ON_PAYLOADS: failing.join(',')}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expect(result.code).to.equal(1)
      expect(result.stderrLines).to.have.length(1)
      const [, count, model] = FAILING_LINE.exec(result.stderrLines[0]!) ?? []
      expect([count, model]).to.deep.equal(['10', 'Signal'])
      const report = flushJson(result.stdout)
      expect(report).to.deep.include({sent: 1990, models: {Signal: 1990}, deadLettered: 0})
      expect(report.failedSignals['Signal']).to.deep.include({pending: 10, deadLettered: 0})
      const sent = sentPayloads(readSentLog(sentLog))
      expect(duplicates(sent)).to.deep.equal([])
      expect(byNumber(sent)).to.deep.equal(signalPayloads(2000).filter((payload) => !failing.includes(payload)))
      expect(byNumber(await pendingPayloads(db, Signal))).to.deep.equal(byNumber(failing))
      expect(extraSends(readCallLog(callLog), 2000, 250)).to.be.at.most(10 * extraSendsPerFailingSignal(250))
    })

    it('without --json: the summary counts what was delivered, one error line per failing model', async () => {
      await db.insertSignals(20)
      await db.insert(CompositeSignal, [1, 2, 3].map((seq) => ({shard: 0, seq, payload: `c${seq}`})))
      const result = await runCli(['flushmany', '--burst', '5'], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: db.newSentLog(), SIGNALBUS_TEST_FAIL_ON_PAYLOADS: 'p3,p4,c2'}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expect(result.stderrLines).to.deep.equal([
        'Error: 2 signal(s) of "Signal" failed and stay pending (first: id=4: the broker refused payload "p3")',
        'Error: 1 signal(s) of "CompositeSignal" failed and stay pending (first: shard=0,seq=2: the broker refused payload "c2")',
      ])
      expect(result.stdout).to.equal(`${summaryLine(20)}\n`)
      expect(result.code).to.equal(1)
    })

    if (dialect === 'sqlite') return

    it('kill -9 while a failing burst is being narrowed down: nothing lost; the next run delivers the rest, duplicates within one burst', async () => {
      const burst = 200
      await insertManySignals(db, 4000)
      const sentLog = db.newSentLog()
      const callLog = db.newSentLog()
      const started = startCli(['flushmany', 'Signal', '--burst', String(burst)], {
        env: db.env({
          SIGNALBUS_TEST_SENT_LOG: sentLog,
          SIGNALBUS_TEST_CALL_LOG: callLog,
          SIGNALBUS_TEST_FAIL_ON_PAYLOADS: 'p1500',
          SIGNALBUS_TEST_SEND_DELAY_MS: '60',
        }),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      const running = watch(started)
      await waitFor(
        'narrowing under way',
        () => readCallLog(callLog).filter((call) => call.size < burst).length >= 3 || running.assertRunningQuietly(),
        {timeoutMs: 30_000, intervalMs: 10},
      )
      const sessions = await sessionsOf(db, started.child.pid!)
      started.child.kill('SIGKILL')
      expect((await started.done).signal).to.equal('SIGKILL')
      for (const session of sessions) {
        await waitFor('the server to drop the dead session', async () => !(await sessionExists(db, session)), {timeoutMs: 10_000})
      }
      const keys = signalPayloads(4000)
      const beforeSecondRun = sentPayloads(readSentLog(sentLog))
      expect(account(keys, beforeSecondRun, await pendingPayloads(db, Signal)).lost, 'lost after the kill').to.deep.equal([])
      const second = await runCli(['flushmany', 'Signal', '--burst', String(burst)], {
        env: db.env({SIGNALBUS_TEST_SENT_LOG: sentLog}),
        timeoutMs: CLI_TIMEOUT_MS,
      })
      expect(second.code, second.stderr).to.equal(0)
      const report = account(keys, sentPayloads(readSentLog(sentLog)), await pendingPayloads(db, Signal))
      expect(report.lost).to.deep.equal([])
      expect(await db.count(Signal)).to.equal(0)
      expect(report.duplicates.length, 'duplicates (one burst at most)').to.be.at.most(burst)
      console.log(summary(report, `killed after ${readCallLog(callLog).length} send calls`))
    })

    it('4 parallel flushers over 4,000 rows with 10 failing signals: every good row delivered exactly once, the failing ones pending', async () => {
      await insertManySignals(db, 4000)
      const failing = randomPositions(4000, 10).map((position) => `p${position}`)
      const logs = Array.from({length: 4}, () => db.newSentLog())
      const children = logs.map((log) =>
        startCli(['flushmany', 'Signal', '--burst', '250', '--json'], {
          env: db.env({SIGNALBUS_TEST_SENT_LOG: log, SIGNALBUS_TEST_FAIL_ON_PAYLOADS: failing.join(','), SIGNALBUS_TEST_SEND_DELAY_MS: '20'}),
          timeoutMs: CLI_TIMEOUT_MS,
        }),
      )
      const results = await Promise.all(children.map((child) => child.done))
      const reports = results.map((result) => flushJson(result.stdout))
      results.forEach((result, index) => {
        expect(result.code, `exit code of flusher ${index}: ${result.stderr}`).to.equal(reports[index]!.failed.length > 0 ? 1 : 0)
        // A flusher whose claims, under contention, keep coming back with only failing signals (the other flushers
        // took the good rows) may stop as "fails whatever the split": safe, since the others deliver the rest.
        for (const line of result.stderrLines) expect(line).to.match(new RegExp(`${FAILING_LINE.source}|${GAVE_UP_LINE.source}`))
      })
      const sent = sentPayloads(readSentLogs(logs))
      expect(duplicates(sent), 'sent twice').to.deep.equal([])
      expect(byNumber(sent)).to.deep.equal(signalPayloads(4000).filter((payload) => !failing.includes(payload)))
      expect(byNumber(await pendingPayloads(db, Signal))).to.deep.equal(byNumber(failing))
      expect(reports.reduce((sum, report) => sum + report.sent, 0)).to.equal(4000 - 10)
      console.log(`      (sent per flusher: ${reports.map((report) => report.sent).join(', ')})`)
    })
  })
}

describe('--repeat with a failing model beside a healthy one (postgres)', function () {
  this.timeout(60_000)
  let db: TestDatabase

  beforeEach(async () => {
    db = await TestDatabase.create('postgres')
  })

  afterEach(async () => {
    await db.destroy()
  })

  it("the healthy model's signals keep their latency (about the interval); the failing model and a failing signal back off on their own", async () => {
    const interval = 1
    const sentLog = db.newSentLog()
    const callLog = db.newSentLog()
    // Every send of CompositeSignal fails: with more rows than SYSTEMIC_AFTER_ISOLATED, that is the model's failure.
    await db.insert(CompositeSignal, [1, 2, 3, 4, 5, 6, 7, 8].map((seq) => ({shard: 0, seq, payload: `c${seq}`})))
    await db.insertSignals(5)
    const started = startCli(['flushmany', '--repeat', String(interval), '--json'], {
      env: db.env({
        SIGNALBUS_TEST_SENT_LOG: sentLog,
        SIGNALBUS_TEST_CALL_LOG: callLog,
        SIGNALBUS_TEST_FAIL_MODELS: 'CompositeSignal',
        SIGNALBUS_TEST_FAIL_ON_PAYLOADS: 'p0',
      }),
      timeoutMs: CLI_TIMEOUT_MS,
    })
    const running = watch(started)
    const latencies: number[] = []
    try {
      await waitFor('the first round', () => readSentLog(sentLog).length >= 4 || (running.exited && 'exited'), {timeoutMs: 15_000})
      const runFor = 6_000
      const begun = Date.now()
      for (let batch = 0; Date.now() - begun < runFor; batch++) {
        const payload = `b${batch}`
        const insertedAt = Date.now()
        await db.insert(BatchSignal, [{payload}])
        const record = await waitFor(
          `${payload} to be sent`,
          () => readSentLog(sentLog).find((entry) => entry.model === 'BatchSignal' && entry.payload === payload) ?? (running.exited && undefined),
          {timeoutMs: 15_000, intervalMs: 20},
        )
        latencies.push(record.at - insertedAt)
        await delay(300 + Math.random() * 400)
      }
    } finally {
      started.child.kill('SIGTERM')
    }
    const result = await started.done
    expect(result.code, result.stderr).to.equal(0)
    const worst = Math.max(...latencies)
    console.log(
      `      (healthy model: ${latencies.length} signals, latency median ${median(latencies)} ms, worst ${worst} ms; interval ${interval * 1000} ms)`,
    )
    expect(worst, 'worst latency of the healthy model (ms)').to.be.below(interval * 1000 + 1000)
    // The failing model backed off on its own: its waits grow, while the healthy model kept its pace.
    const waits = result.stderrLines.flatMap((line) => {
      const match = /^Warning: The last round of "CompositeSignal" failed; retrying in (\d+(?:\.\d)?)s\.$/.exec(line)
      return match ? [Number(match[1])] : []
    })
    expect(waits.length, 'failed rounds of CompositeSignal').to.be.within(2, 6)
    expect(waits.at(-1)!, 'its last wait').to.be.at.least(3.2)
    // The failing signal p0 is retried alone on its own backoff (~1, 2, 4, 8 s): a handful of times, not every round.
    const retries = readCallLog(callLog).filter((call) => call.model === 'Signal' && call.size === 1 && call.failed).length
    expect(retries, 'single-row sends of the failing signal').to.be.within(2, 6)
    expect(byNumber(sentPayloads(readSentLog(sentLog)))).to.deep.equal(['p1', 'p2', 'p3', 'p4'])
    expect(await pendingPayloads(db, Signal)).to.deep.equal(['p0'])
    expect(result.stderrLines.filter((line) => /^Warning: The last round of "(Signal|BatchSignal)"/.test(line)), 'other models never backed off').to.deep.equal([])
  })
})

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}
