import 'reflect-metadata'
import {expect} from 'chai'
import {execFile} from 'node:child_process'
import {randomBytes} from 'node:crypto'
import {lstat, mkdir, mkdtemp, rm, symlink, writeFile} from 'node:fs/promises'
import {createRequire} from 'node:module'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {promisify} from 'node:util'
import type {INestApplication, LoggerService, Type} from '@nestjs/common'
import {Test} from '@nestjs/testing'
import amqplib, {type Channel, type ChannelModel} from 'amqplib'
import {DataSource} from 'typeorm'
import {RABBITMQ_URL} from '../helpers/rabbitmq.js'
import {repoRoot} from '../helpers/paths.js'
import {runCli, spawnAndCollect} from '../helpers/run-cli.js'

const EXAMPLE = path.join(repoRoot, 'examples', 'nestjs')
const DATABASE_URL = 'postgres://postgres@127.0.0.1:5432/test'

interface PlacedOrder {
  id: string
  customer: string
  totalCents: number
}

/** The example is a CommonJS app: load its compiled modules (and the signalbus build they use) with require. */
const requireFromExample = createRequire(path.join(EXAMPLE, 'dist', 'main.js'))

const quiet: LoggerService = {log: () => {}, error: () => {}, warn: () => {}, debug: () => {}, verbose: () => {}}

/** In the repository the example's "signalbus" dependency is the repository itself (built by `npm run build`). */
async function linkRepositoryAsSignalbus(): Promise<void> {
  const link = path.join(EXAMPLE, 'node_modules', 'signalbus')
  if (await lstat(link).catch(() => undefined)) return
  await mkdir(path.dirname(link), {recursive: true})
  await symlink(path.relative(path.dirname(link), repoRoot), link)
}

describe('examples/nestjs', () => {
  const suffix = randomBytes(4).toString('hex')
  const env = {
    DATABASE_URL,
    DATABASE_SYNCHRONIZE: 'true',
    DATABASE_TABLE_PREFIX: `sbx_${suffix}_`,
    RABBITMQ_URL,
    ORDERS_EXCHANGE: `signalbus-nest-orders-${suffix}`,
    NO_COLOR: '1',
  }
  const queueName = `signalbus-nest-placed-${suffix}`
  const savedEnv = {...process.env}
  let broker: ChannelModel
  let channel: Channel
  let envFile: string

  async function takeMessages(): Promise<Array<{messageId: string; body: {orderId: string; totalCents: number}}>> {
    const messages = []
    for (;;) {
      const message = await channel.get(queueName, {noAck: true})
      if (message === false) return messages
      messages.push({messageId: String(message.properties.messageId), body: JSON.parse(message.content.toString())})
    }
  }

  async function eventually(condition: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (!(await condition())) {
      if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  /** Boots the example's AppModule in this process, as its own e2e tests would (no flush loop: SIGNALBUS_FLUSH_INTERVAL is unset). */
  async function bootApp(): Promise<INestApplication> {
    Object.assign(process.env, env)
    const {AppModule} = requireFromExample('./app.module') as {AppModule: Type}
    const moduleRef = await Test.createTestingModule({imports: [AppModule]}).setLogger(quiet).compile()
    return moduleRef.createNestApplication({logger: false}).init()
  }

  async function placeOrders(app: INestApplication, count: number): Promise<PlacedOrder[]> {
    const {OrdersService} = requireFromExample('./orders/orders.service') as {OrdersService: new (...args: never[]) => {place(input: object): Promise<PlacedOrder>}}
    const orders = app.get(OrdersService)
    const placed: PlacedOrder[] = []
    for (let i = 0; i < count; i += 1) placed.push(await orders.place({customer: `customer ${i}`, totalCents: 100 * (i + 1)}))
    return placed
  }

  before(async function () {
    await linkRepositoryAsSignalbus()
    await promisify(execFile)(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(EXAMPLE, 'tsconfig.json')], {
      timeout: 120_000,
    })
    broker = await amqplib.connect(RABBITMQ_URL)
    channel = await broker.createChannel()
    await channel.assertExchange(env.ORDERS_EXCHANGE, 'topic', {durable: false})
    await channel.assertQueue(queueName, {durable: false})
    await channel.bindQueue(queueName, env.ORDERS_EXCHANGE, 'order.placed')
    envFile = path.join(await mkdtemp(path.join(tmpdir(), 'signalbus-nest-')), '.env')
    await writeFile(envFile, Object.entries(env).map(([name, value]) => `${name}=${value}`).join('\n') + '\n')
  })

  afterEach(() => {
    for (const name of Object.keys(env)) delete process.env[name]
    Object.assign(process.env, savedEnv)
  })

  after(async () => {
    await channel?.deleteQueue(queueName)
    await channel?.deleteExchange(env.ORDERS_EXCHANGE)
    await broker?.close()
    await rm(path.dirname(envFile), {recursive: true, force: true})
    const database = await new DataSource({type: 'postgres', url: DATABASE_URL}).initialize()
    for (const table of ['order', 'order_placed_signal']) await database.query(`DROP TABLE IF EXISTS "${env.DATABASE_TABLE_PREFIX}${table}"`)
    await database.destroy()
  })

  it('type-checks with module commonjs and Node10 resolution too, as Nest apps before v11 were set up', async () => {
    const tsconfig = path.join(path.dirname(envFile), 'tsconfig.node10.json')
    const options = {module: 'commonjs', moduleResolution: 'node10', noEmit: true}
    await writeFile(tsconfig, JSON.stringify({extends: path.join(EXAMPLE, 'tsconfig.json'), compilerOptions: options, include: [path.join(EXAMPLE, 'src')]}))
    await promisify(execFile)(process.execPath, [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', tsconfig], {timeout: 120_000})
  })

  it('OrdersService inserts each order with its signal, and the module’s SignalBus delivers them to the queue', async () => {
    const app = await bootApp()
    try {
      const {SignalBus} = requireFromExample('signalbus') as typeof import('../../src/index.js')
      const {SignalbusFlushLoop} = requireFromExample('signalbus/nestjs') as typeof import('../../src/nestjs/index.js')
      expect(app.get(SignalbusFlushLoop).running).to.equal(false)
      const placed = await placeOrders(app, 3)
      const bus = app.get(SignalBus)
      expect(await bus.pending()).to.deep.equal({OrderPlacedSignal: 3})
      expect(await bus.flushmany()).to.equal(3)
      const messages = await takeMessages()
      expect(messages.map((message) => message.body)).to.have.deep.members(placed.map((order) => ({orderId: order.id, totalCents: order.totalCents})))
      expect(new Set(messages.map((message) => message.messageId)).size).to.equal(3)
      expect(await bus.pending()).to.deep.equal({OrderPlacedSignal: 0})
    } finally {
      await app.close()
    }
  })

  it('node dist/main.js: orders POSTed over HTTP reach the queue through the in-app loop, and SIGTERM stops it gracefully', async () => {
    const {child, done} = spawnAndCollect(process.execPath, ['dist/main.js'], {
      cwd: EXAMPLE,
      env: {...process.env, ...env, SIGNALBUS_FLUSH_INTERVAL: '0.2', PORT: '0'},
      timeoutMs: 60_000,
    })
    let output = ''
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()))
    await eventually(async () => /Listening on (\S+)/.test(output))
    const url = /Listening on (\S+)/.exec(output)![1]!.replace('[::1]', '127.0.0.1').replace('[::]', '127.0.0.1')
    const placed: PlacedOrder[] = []
    for (const [customer, totalCents] of [['ada', 1250], ['grace', 990]] as const) {
      const response = await fetch(`${url}/orders`, {method: 'POST', headers: {'content-type': 'application/json'}, body: JSON.stringify({customer, totalCents})})
      expect(response.status).to.equal(201)
      placed.push((await response.json()) as PlacedOrder)
    }
    const messages: Awaited<ReturnType<typeof takeMessages>> = []
    await eventually(async () => {
      messages.push(...(await takeMessages()))
      return messages.length >= 2
    })
    expect(messages.map((message) => message.body)).to.have.deep.members(placed.map((order) => ({orderId: order.id, totalCents: order.totalCents})))
    child.kill('SIGTERM')
    const result = await done
    expect(result.signal ?? result.code).to.be.oneOf(['SIGTERM', 0])
    expect(result.stdout).to.contain('[Signalbus] Flushing every signal model every 0.2 s.')
    expect(result.stdout).to.contain('[Signalbus] The flush loop has stopped.')
    expect(result.stderrLines).to.deep.equal([])
    console.log(`      ${result.stdout.trim().split('\n').join('\n      ')}`)
  })

  it('signalbus flushmany -d dist/signalbus.data-source.js delivers what the app recorded, without booting the app', async () => {
    const app = await bootApp()
    let placed: PlacedOrder[]
    try {
      placed = await placeOrders(app, 2)
    } finally {
      await app.close()
    }
    const result = await runCli(['flushmany', '-d', 'dist/signalbus.data-source.js', '--env-file', envFile], {cwd: EXAMPLE})
    expect(result.stderrLines).to.deep.equal([])
    expect(result.stdout).to.equal('2 signals have been successfully processed.\n')
    expect(result.code).to.equal(0)
    const messages = await takeMessages()
    expect(messages.map((message) => message.body)).to.have.deep.members(placed.map((order) => ({orderId: order.id, totalCents: order.totalCents})))
    console.log(`      signalbus flushmany took ${Math.round(result.milliseconds)} ms`)
  })
})
