// Broker faults through the real binary, delivering to a real RabbitMQ queue: the broker unreachable from the
// start, the connection lost in the middle of a burst, and a row too large for the broker. What was delivered is
// the queue's message ids; each test compares the seeded keys with delivered ∪ pending.
import {expect} from 'chai'
import {RabbitSignal} from '../fixtures/rabbitmq/entities.js'
import {BigSignalOn} from '../fixtures/reliability/entities.js'
import {SCENARIO_ENV, entitiesFor} from '../fixtures/reliability/scenarios.js'
import {BrokerProxy, account, closedPort, pendingKeys, seedRows, summary, withMaxMessageSize} from '../helpers/faults.js'
import {waitFor, watch} from '../helpers/flushing.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'
import {runCli, startCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

const CLI_TIMEOUT_MS = 60_000
const RETRY_WARNING = /^Warning: The last round of "[A-Za-z]+" failed; retrying in (\d+(?:\.\d)?)s\.$/

function retryWaits(result: CliResult): number[] {
  return result.stderrLines.flatMap((line) => {
    const match = RETRY_WARNING.exec(line)
    return match ? [Number(match[1])] : []
  })
}

describe('broker faults (RabbitMQ, on postgres)', function () {
  this.timeout(60_000)
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

  const env = (url: string, extra: Record<string, string> = {}): Record<string, string> =>
    db.env({SIGNALBUS_RABBITMQ_URL: url, SIGNALBUS_TEST_ROUTING_KEY: queue.name, ...extra})

  it('RabbitMQ unreachable from the start: a one-shot run exits 1 within seconds, one line, password masked, rows pending', async () => {
    const keys = await seedRows(db, RabbitSignal, 30)
    const url = `amqp://guest:s3cret-broker-pw@127.0.0.1:${await closedPort()}`
    const result = await runCli(['flushmany'], {env: env(url), timeoutMs: CLI_TIMEOUT_MS})
    expect(result.code, 'exit code').to.equal(1)
    expect(result.stderrLines, 'stderr').to.have.length(1)
    expect(result.stderrLines[0]).to.match(/^Error: .*Could not connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+: .*ECONNREFUSED/)
    expect(result.stdout + result.stderr).not.to.contain('s3cret-broker-pw')
    expect(result.milliseconds, 'ms until the exit').to.be.below(10_000)
    const report = account(keys, await queue.drainMessageIds(), await pendingKeys(db, RabbitSignal))
    expect(report.lost).to.deep.equal([])
    expect(report.delivered).to.equal(0)
    console.log(summary(report, `exit ${result.code} after ${Math.round(result.milliseconds)} ms: ${result.stderrLines[0]}`))
  })

  it('RabbitMQ unreachable when --repeat starts: failed rounds back off (~1 s, ~2 s), then everything is delivered once it is up; exit 0 on SIGTERM', async () => {
    const keys = await seedRows(db, RabbitSignal, 300)
    proxy = await BrokerProxy.start()
    proxy.reachable = false
    const started = startCli(['flushmany', '--repeat', '1', '--burst', '100'], {env: env(proxy.url), timeoutMs: CLI_TIMEOUT_MS})
    const running = watch(started)
    try {
      await waitFor('two failed rounds', () => (running.stderr.match(/retrying in/g) ?? []).length >= 2 || (running.exited && 'exited'), {
        timeoutMs: 15_000,
      })
      expect(await queue.messageCount()).to.equal(0)
      proxy.reachable = true
      await waitFor('every row to be delivered', async () => (await db.count(RabbitSignal)) === 0 || (running.exited && 'exited'), {
        timeoutMs: 20_000,
      })
    } finally {
      started.child.kill('SIGTERM')
    }
    const result = await started.done
    expect(result.code, `exit code (stderr: ${result.stderr})`).to.equal(0)
    const waits = retryWaits(result)
    expect(waits.length, 'failed rounds').to.be.at.least(2)
    expect(waits[0], 'first wait: 1 s ± 20 %').to.be.within(0.8, 1.2)
    expect(waits[1], 'second wait: 2 s ± 20 %').to.be.within(1.6, 2.4)
    const errors = result.stderrLines.filter((line) => !RETRY_WARNING.test(line))
    expect(errors, 'one error line per failed round').to.have.length(waits.length)
    for (const line of errors) expect(line).to.match(/^Error: .*Could not connect to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:\d+/)
    const report = account(keys, await queue.drainMessageIds(), await pendingKeys(db, RabbitSignal))
    expect(report.lost, 'lost').to.deep.equal([])
    expect(report.duplicates, 'duplicates').to.deep.equal([])
    expect(report.delivered).to.equal(keys.length)
    console.log(summary(report, `exit ${result.code}; ${waits.length} failed round(s), waits ${waits.join(', ')} s`))
  })

  it('--repeat: the broker connection lost in the middle of a burst fails that round only; the next round reconnects and delivers the rest, exit 0 on SIGTERM', async () => {
    const burst = 100
    const keys = await seedRows(db, RabbitSignal, 1000)
    proxy = await BrokerProxy.start()
    const started = startCli(['flushmany', '--repeat', '1', '--burst', String(burst)], {
      env: env(proxy.url, {SIGNALBUS_TEST_SEND_DELAY_MS: '100'}),
      timeoutMs: CLI_TIMEOUT_MS,
    })
    const running = watch(started)
    const brokerProxy = proxy
    try {
      await waitFor('two bursts delivered', async () => (await queue.messageCount()) >= 2 * burst || running.assertRunningQuietly(), {
        timeoutMs: 15_000,
      })
      // Keep back what the flusher sends: its next publish is never confirmed. Then cut the connection under it.
      brokerProxy.hold()
      await waitFor('a burst stuck unconfirmed', () => brokerProxy.heldBytes > 2000 || running.assertRunningQuietly(), {timeoutMs: 10_000})
      brokerProxy.cut()
      await waitFor('every row to be delivered', async () => (await db.count(RabbitSignal)) === 0 || (running.exited && 'exited'), {
        timeoutMs: 20_000,
      })
    } finally {
      started.child.kill('SIGTERM')
    }
    const result = await started.done
    expect(result.code, `exit code (stderr: ${result.stderr})`).to.equal(0)
    expect(result.stderrLines, 'stderr').to.have.length(2)
    expect(result.stderrLines[0]).to.match(new RegExp(`^Error: Sending ${burst} signal\\(s\\) of "RabbitSignal" failed: .*not confirmed`))
    expect(result.stderrLines[1]).to.match(RETRY_WARNING)
    const report = account(keys, await queue.drainMessageIds(), await pendingKeys(db, RabbitSignal))
    expect(report.lost, 'lost').to.deep.equal([])
    expect(report.unknown).to.deep.equal([])
    expect(report.duplicates.length, 'duplicates (one burst at most)').to.be.at.most(burst)
    console.log(summary(report, `exit ${result.code}; ${result.stderrLines[0]}`))
  })
})

for (const dialect of ['postgres', 'mariadb'] as const) {
  describe(`a row too large for the broker, on ${dialect}`, function () {
    this.timeout(60_000)
    const BigSignal = BigSignalOn[dialect]
    let db: TestDatabase
    let queue: TestQueue

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: entitiesFor('big-message', dialect), fixture: 'reliability/cli-data-source.js'})
      queue = await TestQueue.create()
    })

    afterEach(async () => {
      await queue.destroy()
      await db.destroy()
    })

    const env = (): Record<string, string> =>
      db.env({[SCENARIO_ENV]: 'big-message', SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, SIGNALBUS_TEST_ROUTING_KEY: queue.name})

    it('exits 1 with one line naming the row and the size; only that row stays pending, the rest of its model and other models are delivered; nothing lost', async () => {
      // BigSignal bursts are 5 rows: row 13 (2 MiB) is in the third burst, which is narrowed down to it.
      await db.insert(BigSignal, Array.from({length: 12}, (_, index) => ({payload: `small ${index}`})))
      await db.insert(BigSignal, [{payload: 'x'.repeat(2 * 1024 * 1024)}])
      await db.insert(BigSignal, Array.from({length: 7}, (_, index) => ({payload: `small ${13 + index}`})))
      // In id order, so that the 13th is the big row.
      const bigKeys = (await pendingKeys(db, BigSignal)).map(Number).sort((a, b) => a - b).map((id) => `big-${id}`)
      const rabbitKeys = await seedRows(db, RabbitSignal, 30)
      const keys = [...bigKeys, ...rabbitKeys]
      const pendingNow = async (): Promise<string[]> => [
        ...(await pendingKeys(db, BigSignal)).map((id) => `big-${id}`),
        ...(await pendingKeys(db, RabbitSignal)),
      ]

      let first: CliResult | undefined
      await withMaxMessageSize(1024 * 1024, async () => {
        first = await runCli(['flushmany'], {env: env(), timeoutMs: CLI_TIMEOUT_MS})
      })
      const result = first!
      expect(result.code, 'exit code').to.equal(1)
      expect(result.stderrLines, 'stderr').to.have.length(1)
      expect(result.stderrLines[0]).to.match(
        /^Error: 1 signal\(s\) of "BigSignal" failed and stay pending \(first: id=\d+: .*message size \d+ is larger than configured max size 1048576/,
      )
      const deliveredFirst = await queue.drainMessageIds()
      const pendingFirst = await pendingNow()
      expect(account(keys, deliveredFirst, pendingFirst).lost, 'lost after the failure').to.deep.equal([])
      expect(pendingFirst, 'only the big row').to.deep.equal([bigKeys[12]])
      expect(deliveredFirst, 'every other row of its model').to.include.members(bigKeys.filter((key) => key !== bigKeys[12]))
      expect(deliveredFirst, 'the other model').to.include.members(rabbitKeys)

      // The limit is back to 128 MiB: the next run delivers the rest, the 2 MiB message included.
      const second = await runCli(['flushmany'], {env: env(), timeoutMs: CLI_TIMEOUT_MS})
      expect(second.stderrLines, 'stderr').to.deep.equal([])
      expect(second.code, 'exit code').to.equal(0)
      const report = account(keys, [...deliveredFirst, ...(await queue.drainMessageIds())], await pendingNow())
      expect(report.lost, 'lost').to.deep.equal([])
      expect(report.unknown).to.deep.equal([])
      expect(await pendingNow()).to.deep.equal([])
      // The failed sends of the narrowing may have stored the rows before the big one: at most 2 bursts' worth.
      expect(report.duplicates.length, 'duplicates (2 bursts at most)').to.be.at.most(2 * 5)
      console.log(summary(report, `exit ${result.code}: ${result.stderrLines[0]}`))
    })
  })
}
