// Per-key ordering through the real binary, checked on the real RabbitMQ queue: four parallel `flushmany`
// processes over rows of 500 interleaved keys deliver every row once and every key in primary-key order; a failing
// signal holds back its own key only from itself on, every other row is delivered; kill -9 of a flusher re-sends at most its one burst, and only
// those re-sends arrive out of order; an unordered model beside the ordered one is delivered as before.
import {expect} from 'chai'
import amqplib from 'amqplib'
import type {EntityTarget, ObjectLiteral} from 'typeorm'
import {
  IndexedOrderedSignal,
  MisorderedSignal,
  ORDERING_SCENARIO_ENV,
  OrderedSignal,
  UnorderedSignal,
  type OrderingMessage,
} from '../fixtures/ordering/entities.js'
import {expectOneErrorLine, waitFor} from '../helpers/flushing.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'
import {runCli, startCli, type CliResult} from '../helpers/run-cli.js'
import {TestDatabase} from '../helpers/test-database.js'

const FLUSHERS = 4
const ROWS = Number(process.env.SIGNALBUS_TEST_ORDERING_ROWS ?? 100_000)
const KEYS = 500
const BURST = 1000
const ENTITIES = [OrderedSignal, IndexedOrderedSignal, UnorderedSignal]

/** Everything that reached the queue, in arrival order. */
class QueueRecorder {
  readonly messages: OrderingMessage[] = []
  private constructor(private readonly connection: amqplib.ChannelModel) {}

  static async start(queue: string): Promise<QueueRecorder> {
    const connection = await amqplib.connect(RABBITMQ_URL)
    const recorder = new QueueRecorder(connection)
    const channel = await connection.createChannel()
    await channel.consume(queue, (message) => {
      if (message) recorder.messages.push(JSON.parse(message.content.toString()) as OrderingMessage)
    }, {noAck: true})
    return recorder
  }

  of(model: string): OrderingMessage[] {
    return this.messages.filter((message) => message.model === model)
  }

  async stop(): Promise<void> {
    await this.connection.close()
  }
}

interface Seeded {
  id: number
  key: number
}

interface OrderCheck {
  /** Ids delivered more than once. */
  duplicates: number[]
  /** Seeded ids never delivered (and not expected to be pending). */
  missing: number[]
  /** Arrivals of an id lower than one of its key that had arrived before. */
  violations: OrderingMessage[]
  /** The same, counting only each id's first arrival. */
  firstArrivalViolations: OrderingMessage[]
}

function checkOrder(seeded: readonly Seeded[], delivered: readonly OrderingMessage[]): OrderCheck {
  const seen = new Set<number>()
  const duplicates: number[] = []
  const highest = new Map<number | null, number>()
  const highestFirst = new Map<number | null, number>()
  const violations: OrderingMessage[] = []
  const firstArrivalViolations: OrderingMessage[] = []
  for (const message of delivered) {
    const first = !seen.has(message.id)
    if (!first) duplicates.push(message.id)
    seen.add(message.id)
    if ((highest.get(message.key) ?? -1) > message.id) violations.push(message)
    highest.set(message.key, Math.max(highest.get(message.key) ?? -1, message.id))
    if (first) {
      if ((highestFirst.get(message.key) ?? -1) > message.id) firstArrivalViolations.push(message)
      highestFirst.set(message.key, Math.max(highestFirst.get(message.key) ?? -1, message.id))
    }
  }
  const missing = seeded.filter((row) => !seen.has(row.id)).map((row) => row.id)
  return {duplicates, missing, violations, firstArrivalViolations}
}

for (const dialect of ['postgres', 'mariadb'] as const) {
  describe(`per-key ordering (signalbusOrderingKey) on ${dialect}`, function () {
    this.timeout(120_000)
    let db: TestDatabase
    let queue: TestQueue
    let recorder: QueueRecorder

    beforeEach(async () => {
      db = await TestDatabase.create(dialect, {entities: ENTITIES, fixture: 'ordering/cli-data-source.js'})
      queue = await TestQueue.create()
      recorder = await QueueRecorder.start(queue.name)
    })

    afterEach(async () => {
      await recorder.stop()
      await queue.destroy()
      await db.destroy()
    })

    const env = (extra: Record<string, string> = {}): Record<string, string> =>
      db.env({SIGNALBUS_TEST_ROUTING_KEY: queue.name, SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL, ...extra})

    /** Seeds `rows` rows with keys drawn at random from `keys` keys (random interleaving); returns them by id. */
    async function seed(entity: EntityTarget<ObjectLiteral>, rows: number, keys: number): Promise<Seeded[]> {
      const metadata = db.dataSource.getMetadata(entity)
      const table = db.dataSource.driver.escape(metadata.tablePath)
      const generate =
        dialect === 'postgres'
          ? `INSERT INTO ${table} (order_key) SELECT floor(random() * ${keys}) FROM generate_series(1, ${rows})`
          : `INSERT INTO ${table} (order_key) SELECT FLOOR(RAND() * ${keys}) FROM seq_1_to_${rows}`
      await db.dataSource.query(generate)
      return pendingRows(entity)
    }

    async function pendingRows(entity: EntityTarget<ObjectLiteral>): Promise<Seeded[]> {
      const table = db.dataSource.driver.escape(db.dataSource.getMetadata(entity).tablePath)
      const rows = (await db.dataSource.query(`SELECT id, order_key FROM ${table} ORDER BY id`)) as Array<{id: unknown; order_key: unknown}>
      return rows.map((row) => ({id: Number(row.id), key: Number(row.order_key)}))
    }

    async function flushInParallel(extraEnv: Record<string, string> = {}, names: string[] = []): Promise<CliResult[]> {
      return Promise.all(
        Array.from({length: FLUSHERS}, () =>
          runCli(['flushmany', ...names, '--burst', String(BURST)], {env: env(extraEnv), timeoutMs: 100_000}),
        ),
      )
    }

    function expectAllSucceeded(results: CliResult[]): void {
      results.forEach((result, index) => {
        expect(result.stderrLines, `stderr of flusher ${index}`).to.deep.equal([])
        expect(result.code, `exit code of flusher ${index}`).to.equal(0)
      })
    }

    it(`${FLUSHERS} parallel flushmany over ${ROWS} rows of ${KEYS} keys: every row once, every key in primary-key order on the queue; an unordered model beside it unaffected`, async () => {
      const ordered = await seed(OrderedSignal, ROWS, KEYS)
      const unordered = await seed(UnorderedSignal, ROWS / 5, KEYS)
      const started = performance.now()
      const results = await flushInParallel()
      const seconds = (performance.now() - started) / 1000
      expectAllSucceeded(results)
      await waitFor('every message to arrive', () => recorder.messages.length >= ordered.length + unordered.length, {timeoutMs: 20_000})

      const check = checkOrder(ordered, recorder.of('OrderedSignal'))
      expect(check.missing, 'ordered rows never delivered').to.deep.equal([])
      expect(check.duplicates, 'ordered rows delivered twice').to.deep.equal([])
      expect(check.violations, 'arrivals out of primary-key order within a key').to.deep.equal([])
      const beside = checkOrder(unordered, recorder.of('UnorderedSignal'))
      expect(beside.missing, 'unordered rows never delivered').to.deep.equal([])
      expect(beside.duplicates, 'unordered rows delivered twice').to.deep.equal([])
      expect(await db.count(OrderedSignal)).to.equal(0)
      expect(await db.count(UnorderedSignal)).to.equal(0)
      const pids = new Set(recorder.of('OrderedSignal').map((message) => message.pid))
      console.log(
        `      ${ordered.length} ordered + ${unordered.length} unordered rows in ${seconds.toFixed(1)} s; ` +
          `0 lost, 0 duplicates, ${check.violations.length} order violations; ordered rows sent by ${pids.size} flushers`,
      )
    })

    it('with the recommended (ordering key, primary key) index, the same holds', async () => {
      const rows = await seed(IndexedOrderedSignal, ROWS / 5, KEYS)
      expectAllSucceeded(await flushInParallel({}, ['IndexedOrderedSignal']))
      await waitFor('every message to arrive', () => recorder.messages.length >= rows.length, {timeoutMs: 20_000})
      const check = checkOrder(rows, recorder.of('IndexedOrderedSignal'))
      expect(check.missing, 'never delivered').to.deep.equal([])
      expect(check.duplicates, 'delivered twice').to.deep.equal([])
      expect(check.violations, 'arrivals out of order').to.deep.equal([])
    })

    // Narrowing delivers everything but the failing signal; ordering holds back the later signals of its key (the
    // failing row stays its key's lowest pending row, so no claim leases that key again in this run).
    it("a failing signal holds back only its own key's later signals: every other key delivered completely, the key's earlier ones delivered, its later ones pending", async () => {
      const rows = await seed(OrderedSignal, 5_000, 50)
      const key = rows[rows.length / 2]!.key
      const ofKey = rows.filter((row) => row.key === key)
      const failing = ofKey[Math.floor(ofKey.length / 2)]!
      const results = await flushInParallel({SIGNALBUS_TEST_FAIL_ON_ID: String(failing.id)})
      const failed = results.filter((result) => result.code === 1)
      expect(failed.length, 'flushers that met the failing signal').to.be.at.least(1)
      for (const result of results) {
        if (result.code === 0) expect(result.stderrLines, 'stderr of a flusher that did not meet it').to.deep.equal([])
        else {
          expect(result.code, 'exit code').to.equal(1)
          expect(result.stderrLines, 'stderr: one line for the failing model').to.have.length(1)
          const line = result.stderrLines[0]!
          expect(line).to.contain('"OrderedSignal"').and.to.contain(`id=${failing.id}`).and.to.contain(`the broker refused signal ${failing.id}`)
        }
      }
      await waitFor('the queue to go quiet', async () => {
        const before = recorder.messages.length
        await new Promise((resolve) => setTimeout(resolve, 300))
        return recorder.messages.length === before
      })

      const delivered = recorder.of('OrderedSignal')
      const check = checkOrder([], delivered)
      expect(check.duplicates, 'delivered twice (the failing send publishes nothing)').to.deep.equal([])
      expect(check.violations, 'arrivals out of order').to.deep.equal([])
      const heldBack = ofKey.filter((row) => row.id >= failing.id).map((row) => row.id)
      const pending = await pendingRows(OrderedSignal)
      expect(pending.map((row) => row.id), "pending: exactly the failing signal and its key's later ones").to.deep.equal(heldBack)
      const expectedDelivered = rows.filter((row) => !heldBack.includes(row.id)).map((row) => row.id)
      expect([...new Set(delivered.map((message) => message.id))].sort((a, b) => a - b), "delivered: every other key whole, the key's earlier ones").to.deep.equal(
        expectedDelivered,
      )
      console.log(`      failing signal ${failing.id} of key ${key}: ${expectedDelivered.length} delivered, ${heldBack.length} held back, 0 order violations`)
    })

    it(`kill -9 of one of ${FLUSHERS} flushers: nothing lost; out-of-order arrivals are re-sends of the killed flusher's one burst`, async () => {
      const rows = await seed(OrderedSignal, 10_000, KEYS)
      // A pause after the broker's confirm keeps each flusher's burst in the confirm → commit window for a while.
      const flushers = Array.from({length: FLUSHERS}, () =>
        startCli(['flushmany', '--burst', String(BURST)], {env: env({SIGNALBUS_TEST_AFTER_SEND_DELAY_MS: '150'}), timeoutMs: 100_000}),
      )
      const victim = flushers[0]!
      const victimPid = victim.child.pid!
      await waitFor('the victim to have published a burst', () => recorder.messages.some((message) => message.pid === victimPid), {
        timeoutMs: 30_000,
      })
      victim.child.kill('SIGKILL')
      const results = await Promise.all(flushers.map((flusher) => flusher.done))
      expect(results[0]!.signal, 'the victim was killed').to.equal('SIGKILL')
      expectAllSucceeded(results.slice(1))
      // The survivors may have finished before the server dropped the victim's session: drain what it held.
      const drain = await runCli(['flushmany', '--burst', String(BURST)], {env: env(), timeoutMs: 60_000})
      expectAllSucceeded([drain])
      await waitFor('every row to arrive', () => new Set(recorder.of('OrderedSignal').map((message) => message.id)).size >= rows.length, {
        timeoutMs: 20_000,
      })

      const delivered = recorder.of('OrderedSignal')
      const check = checkOrder(rows, delivered)
      expect(check.missing, 'lost').to.deep.equal([])
      expect(await db.count(OrderedSignal)).to.equal(0)
      // The bound: the victim had at most one burst sent and not committed, so at most BURST re-sends, each of a
      // signal the victim had published; only those arrive after a later signal of their key.
      expect(check.duplicates.length, 're-sends').to.be.at.most(BURST)
      const publishedByVictim = new Set(delivered.filter((message) => message.pid === victimPid).map((message) => message.id))
      expect(check.duplicates.filter((id) => !publishedByVictim.has(id)), "re-sends of rows the victim had not published").to.deep.equal([])
      const duplicated = new Set(check.duplicates)
      expect(check.violations.filter((message) => !duplicated.has(message.id)), 'out-of-order arrivals that are not re-sends').to.deep.equal([])
      expect(check.firstArrivalViolations, 'first arrivals out of order').to.deep.equal([])
      console.log(
        `      kill -9: 0 lost, ${check.duplicates.length} re-sent (bound ${BURST}), ${check.violations.length} out-of-order arrivals, all re-sends`,
      )
    })

    it('an ordering key that names no column is a configuration error: exit 2, one line naming it', async () => {
      const result = await runCli(['signals'], {env: env({[ORDERING_SCENARIO_ENV]: 'misordered'})})
      const line = expectOneErrorLine(result, 2)
      expect(line).to.contain(MisorderedSignal.name).and.to.contain('"orderId"')
    })

    it('signals shows the ordering key; --json has orderingKey (string, array or null)', async () => {
      const human = await runCli(['signals'], {env: env()})
      expect(human.code).to.equal(0)
      expect(human.stdout.split('\n')[0]).to.contain('ORDERING')
      expect(human.stdout).to.match(/^OrderedSignal .* orderKey /m)
      const json = await runCli(['signals', '--json'], {env: env()})
      expect(json.code).to.equal(0)
      const {signals} = JSON.parse(json.stdout) as {signals: Array<{name: string; orderingKey: unknown}>}
      expect(signals.map((signal) => [signal.name, signal.orderingKey])).to.deep.equal([
        ['OrderedSignal', 'orderKey'],
        ['IndexedOrderedSignal', ['orderKey']],
        ['UnorderedSignal', null],
      ])
    })
  })
}
