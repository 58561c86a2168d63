// /healthz and /readyz of a real `flushmany --repeat` through a database outage and a broker outage, each made
// with a proxy this test owns (the shared PostgreSQL and RabbitMQ stay up for everyone else), and back.
import {expect} from 'chai'
import {ServiceSignal} from '../fixtures/service/entities.js'
import {entities} from '../fixtures/signals/entities.js'
import {BrokerProxy, closedPort} from '../helpers/faults.js'
import {waitFor, watch, type Watched} from '../helpers/flushing.js'
import {probe} from '../helpers/metrics.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'
import {startCli} from '../helpers/run-cli.js'
import {TcpProxy} from '../helpers/tcp-proxy.js'
import {TestDatabase} from '../helpers/test-database.js'

describe('health probes through outages (PostgreSQL, RabbitMQ)', function () {
  let db: TestDatabase
  let queue: TestQueue

  beforeEach(async function () {
    db = await TestDatabase.create('postgres', {entities: [ServiceSignal, ...entities], fixture: 'service/cli-data-source.js'})
    queue = await TestQueue.create()
  })

  afterEach(async function () {
    await queue.destroy()
    await db.destroy()
  })

  async function startFlusher(env: Record<string, string>): Promise<{port: number; stop: () => Promise<string[]>; watched: Watched}> {
    const port = await closedPort()
    const started = startCli(['flushmany', 'ServiceSignal', '--repeat', '0.5', '--metrics-port', String(port)], {
      env: db.env({SIGNALBUS_TEST_QUEUE: queue.name, ...env}),
    })
    const watched = watch(started)
    await waitFor('ready', async () => (await probe(port, '/readyz')).status === 200 || (watched.exited && watched.assertRunningQuietly()), {
      timeoutMs: 30_000,
    })
    return {
      port,
      watched,
      stop: async () => {
        started.child.kill('SIGTERM')
        const result = await started.done
        expect(result.code, result.stderr).to.equal(0)
        return result.stderrLines
      },
    }
  }

  const insertOne = (payload: string): Promise<void> => db.insert(ServiceSignal, [{payload}])

  it('is not ready while the database is unreachable, stays live, and is ready again after it returns', async function () {
    this.timeout(60_000)
    const proxy = await TcpProxy.start(5432)
    try {
      const flusher = await startFlusher({SIGNALBUS_TEST_DB_PORT: String(proxy.port), SIGNALBUS_RABBITMQ_URL: RABBITMQ_URL})
      proxy.down()
      const down = await waitFor('not ready', async () => {
        const ready = await probe(flusher.port, '/readyz')
        return ready.status === 503 && ready
      }, {timeoutMs: 15_000}).catch((error: Error) => {
        throw new Error(`${error.message}; stderr: ${flusher.watched.stderr}`)
      })
      expect(down.body).to.include({database: false, broker: true})
      expect(String(down.body['reason'])).to.match(/ServiceSignal|service_signal|connect/i)
      expect((await probe(flusher.port, '/healthz')).status, 'failing rounds are still progress').to.equal(200)

      proxy.restore()
      await insertOne('after the outage')
      await waitFor('ready again', async () => (await probe(flusher.port, '/readyz')).status === 200, {timeoutMs: 15_000})
      await waitFor('the row delivered', async () => (await queue.messageCount()) === 1, {timeoutMs: 5000})
      const stderr = await flusher.stop()
      expect(stderr.length, 'the outage was reported').to.be.greaterThan(0)
      expect(stderr.every((line) => /^(Error|Warning): /.test(line)), stderr.join('\n')).to.equal(true)
    } finally {
      await proxy.close()
    }
  })

  it('is not ready while the broker is unreachable, stays live, and is ready again after it returns', async function () {
    const proxy = await BrokerProxy.start()
    try {
      const flusher = await startFlusher({SIGNALBUS_RABBITMQ_URL: proxy.url})
      await insertOne('before')
      await waitFor('the first row delivered and committed', async () => (await db.count(ServiceSignal)) === 0 && (await queue.messageCount()) === 1)

      proxy.reachable = false
      proxy.cut()
      await insertOne('during')
      const down = await waitFor('not ready', async () => {
        const ready = await probe(flusher.port, '/readyz')
        return ready.status === 503 && ready
      })
      expect(down.body).to.include({database: true, broker: false})
      expect((await probe(flusher.port, '/healthz')).status).to.equal(200)

      proxy.reachable = true
      await waitFor('ready again', async () => (await probe(flusher.port, '/readyz')).status === 200, {timeoutMs: 15_000})
      await waitFor('the row sent during the outage delivered', async () => (await db.count(ServiceSignal)) === 0, {timeoutMs: 5000}).catch(
        (error: Error) => {
          throw new Error(`${error.message}; stderr: ${flusher.watched.stderr}`)
        },
      )
      await flusher.stop()
    } finally {
      await proxy.close()
    }
  })
})
