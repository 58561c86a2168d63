import 'reflect-metadata'
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {Injectable, type LoggerService, type ModuleMetadata} from '@nestjs/common'
import {ConfigModule, ConfigService} from '@nestjs/config'
import {Test, type TestingModule} from '@nestjs/testing'
import {TypeOrmModule, getDataSourceToken} from '@nestjs/typeorm'
import {DataSource} from 'typeorm'
import {RabbitmqPublisher, SignalBus, SignalbusConfigError} from '../../src/index.js'
import {
  InjectSignalBus,
  InjectSignalbusTransactions,
  SignalbusFlushLoop,
  SignalbusModule,
  SignalbusTransactions,
  getRabbitmqPublisherToken,
  getSignalBusToken,
  getSignalbusFlushLoopToken,
  signalbusPublisher,
} from '../../src/nestjs/index.js'
import {NestReportSignal, NestTestOrder, NestTestSignal, delivery} from '../fixtures/nestjs/entities.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'

const POSTGRES = {type: 'postgres', url: 'postgres://postgres@127.0.0.1:5432/test'} as const

/** Nest's log lines, kept instead of printed. */
class CollectingLogger implements LoggerService {
  readonly lines: string[] = []
  log = (message: unknown, context?: string): void => void this.lines.push(`log [${context}] ${String(message)}`)
  error = (message: unknown, ...rest: unknown[]): void => void this.lines.push(`error [${String(rest.at(-1))}] ${String(message)}`)
  warn = (message: unknown, context?: string): void => void this.lines.push(`warn [${context}] ${String(message)}`)
  debug = (message: unknown, context?: string): void => void this.lines.push(`debug [${context}] ${String(message)}`)
  verbose = (): void => {}
}

async function eventually(condition: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not true within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
}

describe('SignalbusModule (signalbus/nestjs)', function () {
  const prefix = `sbn_${randomBytes(4).toString('hex')}_`
  const typeorm = (extra: {name?: string; entities?: Function[]} = {}) =>
    TypeOrmModule.forRoot({...POSTGRES, entityPrefix: prefix, entities: [NestTestOrder, NestTestSignal], synchronize: true, ...extra})
  let queue: TestQueue
  let logger: CollectingLogger
  let app: TestingModule | undefined

  async function boot(imports: NonNullable<ModuleMetadata['imports']>, providers: ModuleMetadata['providers'] = []): Promise<TestingModule> {
    logger = new CollectingLogger()
    app = await Test.createTestingModule({imports, providers}).setLogger(logger).compile()
    await app.init()
    return app
  }

  async function pendingRows(entity: Function, dataSourceName?: string): Promise<number> {
    return app!.get<DataSource>(getDataSourceToken(dataSourceName)).getRepository(entity).count()
  }

  beforeEach(async () => {
    queue = await TestQueue.create()
    Object.assign(delivery, {queue: queue.name, sendDelayMs: 0, onSend: () => {}})
  })

  afterEach(async () => {
    const dataSource = app?.get(DataSource)
    for (const metadata of dataSource?.entityMetadatas ?? []) await dataSource!.getRepository(metadata.target).clear()
    await app?.close()
    app = undefined
    await queue.destroy()
  })

  after(async () => {
    const database = await new DataSource(POSTGRES).initialize()
    for (const table of ['nest_test_order', 'nest_test_signal', 'nest_report_signal']) await database.query(`DROP TABLE IF EXISTS "${prefix}${table}"`)
    await database.destroy()
  })

  it('forRoot builds SignalBus and SignalbusTransactions on the app’s own DataSource, and runs no flush loop', async () => {
    await boot([typeorm(), SignalbusModule.forRoot({rabbitmq: {url: RABBITMQ_URL}})])
    const dataSource = app!.get(DataSource)
    const bus = app!.get(SignalBus)
    expect(bus.dataSource).to.equal(dataSource)
    expect(app!.get(SignalbusTransactions).dataSource).to.equal(dataSource)
    expect(bus.getSignalModels().map((model) => model.name)).to.deep.equal(['NestTestSignal'])
    expect(app!.get(SignalbusFlushLoop).running).to.equal(false)
    expect(signalbusPublisher()).to.equal(app!.get(RabbitmqPublisher))
  })

  it('a service inserts its row and its signal atomically through SignalbusTransactions, and SignalBus delivers it', async () => {
    @Injectable()
    class OrdersService {
      constructor(private readonly transactions: SignalbusTransactions) {}
      place(label: string, fail = false): Promise<void> {
        return this.transactions.executeAtomic(async (manager) => {
          await manager.insert(NestTestOrder, {label})
          await manager.insert(NestTestSignal, {label})
          if (fail) throw new Error('the business rule said no')
        })
      }
    }
    await boot([typeorm(), SignalbusModule.forRoot({rabbitmq: {url: RABBITMQ_URL}})], [OrdersService])
    const orders = app!.get(OrdersService)
    await orders.place('a')
    await orders.place('b')
    await orders.place('c', true).catch(() => undefined)
    expect(await pendingRows(NestTestOrder)).to.equal(2)
    expect(await pendingRows(NestTestSignal)).to.equal(2)
    expect(await app!.get(SignalBus).flushmany()).to.equal(2)
    expect(await queue.drainMessageIds()).to.have.length(2)
    expect(await pendingRows(NestTestSignal)).to.equal(0)
  })

  it('forRootAsync takes the broker URL from ConfigService', async () => {
    const settings = {RABBITMQ_URL: RABBITMQ_URL}
    await boot([
      ConfigModule.forRoot({ignoreEnvFile: true, isGlobal: true, load: [() => settings]}),
      typeorm(),
      SignalbusModule.forRootAsync({
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({rabbitmq: {url: config.getOrThrow<string>('RABBITMQ_URL'), connectTimeoutMs: 2_000}}),
      }),
    ])
    expect(app!.get(RabbitmqPublisher).displayUrl).to.equal('amqp://guest:***@127.0.0.1:5672')
    await app!.get(DataSource).getRepository(NestTestSignal).insert({label: 'x'})
    expect(await app!.get(SignalBus).flushmany()).to.equal(1)
    expect(await queue.messageCount()).to.equal(1)
  })

  it('forRootAsync takes a cluster\'s node URLs from ConfigService (`urls`) and fails over past a node that refuses', async () => {
    const settings = {RABBITMQ_URLS: `amqp://guest:secret@127.0.0.1:1,${RABBITMQ_URL}`}
    await boot([
      ConfigModule.forRoot({ignoreEnvFile: true, isGlobal: true, load: [() => settings]}),
      typeorm(),
      SignalbusModule.forRootAsync({
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({rabbitmq: {urls: config.getOrThrow<string>('RABBITMQ_URLS').split(','), connectTimeoutMs: 2_000}}),
      }),
    ])
    expect(app!.get(RabbitmqPublisher).displayUrl).to.equal('amqp://guest:***@127.0.0.1:1, amqp://guest:***@127.0.0.1:5672')
    await app!.get(DataSource).getRepository(NestTestSignal).insert([{label: 'x'}, {label: 'y'}])
    expect(await app!.get(SignalBus).flushmany()).to.equal(2)
    expect(await queue.messageCount()).to.equal(2)
  })

  it('forRootAsync with a broker URL nobody listens on: the flush fails, the rows stay pending, Nest’s Logger says why', async () => {
    await boot([
      ConfigModule.forRoot({ignoreEnvFile: true, isGlobal: true, load: [() => ({RABBITMQ_URL: 'amqp://guest:secret@127.0.0.1:1'})]}),
      typeorm(),
      SignalbusModule.forRootAsync({
        imports: [ConfigModule],
        inject: [ConfigService],
        useFactory: (config: ConfigService) => ({rabbitmq: {url: config.getOrThrow<string>('RABBITMQ_URL')}}),
      }),
    ])
    await app!.get(DataSource).getRepository(NestTestSignal).insert({label: 'x'})
    const report = await app!.get(SignalBus).flushmanyReport()
    expect(report.failed).to.have.length(1)
    expect(await pendingRows(NestTestSignal)).to.equal(1)
    const errors = logger.lines.filter((line) => line.startsWith('error [Signalbus]'))
    expect(errors).to.have.length(1)
    expect(errors[0]).to.contain('Could not connect to RabbitMQ at amqp://guest:***@127.0.0.1:1')
  })

  it('a named DataSource gets its own SignalBus, transactions and publisher beside the default one', async () => {
    @Injectable()
    class ReportsService {
      constructor(
        @InjectSignalBus('reports') readonly bus: SignalBus,
        @InjectSignalbusTransactions('reports') readonly transactions: SignalbusTransactions,
      ) {}
    }
    await boot(
      [
        typeorm(),
        typeorm({name: 'reports', entities: [NestReportSignal]}),
        SignalbusModule.forRoot({rabbitmq: {url: RABBITMQ_URL}}),
        SignalbusModule.forRootAsync({dataSourceName: 'reports', useFactory: () => ({rabbitmq: {url: RABBITMQ_URL}})}),
      ],
      [ReportsService],
    )
    const reports = app!.get(ReportsService)
    const reportsDataSource = app!.get<DataSource>(getDataSourceToken('reports'))
    expect(reports.bus.dataSource).to.equal(reportsDataSource)
    expect(reports.transactions.dataSource).to.equal(reportsDataSource)
    expect(reports.bus).to.equal(app!.get(getSignalBusToken('reports')))
    expect(reports.bus).not.to.equal(app!.get(SignalBus))
    expect(reports.bus.getSignalModels().map((model) => model.name)).to.deep.equal(['NestReportSignal'])
    expect(app!.get(SignalBus).getSignalModels().map((model) => model.name)).to.deep.equal(['NestTestSignal'])
    const reportsPublisher = app!.get<RabbitmqPublisher>(getRabbitmqPublisherToken('reports'))
    expect(signalbusPublisher('reports')).to.equal(reportsPublisher)
    expect(signalbusPublisher()).not.to.equal(reportsPublisher)

    await reports.transactions.executeAtomic((manager) => manager.insert(NestReportSignal, [{label: 'r1'}, {label: 'r2'}]))
    expect(await reports.bus.flushmany()).to.equal(2)
    expect(await queue.messageCount()).to.equal(2)
    expect(app!.get<SignalbusFlushLoop>(getSignalbusFlushLoopToken('reports')).running).to.equal(false)
  })

  it('flushLoop flushes inside the application from onApplicationBootstrap', async () => {
    await boot([typeorm(), SignalbusModule.forRoot({rabbitmq: {url: RABBITMQ_URL}, flushLoop: {intervalSeconds: 0.2, models: [NestTestSignal]}})])
    expect(app!.get(SignalbusFlushLoop).running).to.equal(true)
    await app!.get(DataSource).getRepository(NestTestSignal).insert([{label: 'a'}, {label: 'b'}, {label: 'c'}])
    await eventually(async () => (await queue.messageCount()) === 3).catch((error: Error) => {
      throw new Error(`${error.message}; Nest logged: ${logger.lines.join(' | ')}`)
    })
    // The broker has them before the burst's COMMIT: wait for it too.
    await eventually(async () => (await pendingRows(NestTestSignal)) === 0)
  })

  it('a failing round is logged with the backoff, its rows stay pending, and the loop goes on until shutdown', async () => {
    await boot([typeorm(), SignalbusModule.forRoot({rabbitmq: {url: 'amqp://guest:guest@127.0.0.1:1'}, flushLoop: {intervalSeconds: 0.1}})])
    await app!.get(DataSource).getRepository(NestTestSignal).insert({label: 'x'})
    await eventually(async () => logger.lines.some((line) => line.startsWith('warn [Signalbus] A flush round failed')))
    const warning = logger.lines.find((line) => line.startsWith('warn [Signalbus] A flush round failed'))!
    expect(warning).to.match(/^warn \[Signalbus\] A flush round failed \(flushing failed for NestTestSignal\); the next round starts in [\d.]+ s\.$/)
    expect(logger.lines.some((line) => line.startsWith('error [Signalbus]') && line.includes('Could not connect to RabbitMQ'))).to.equal(true)
    expect(await pendingRows(NestTestSignal)).to.equal(1)
    expect(app!.get(SignalbusFlushLoop).running).to.equal(true)
  })

  it('shutdown lets the burst being sent commit, then stops the loop before the DataSource is destroyed and closes the publisher', async () => {
    await boot([typeorm(), SignalbusModule.forRoot({rabbitmq: {url: RABBITMQ_URL}, flushLoop: {intervalSeconds: 0.1, burst: 1}})])
    const dataSource = app!.get(DataSource)
    await dataSource.getRepository(NestTestSignal).insert([{label: 'a'}, {label: 'b'}, {label: 'c'}])
    let sendStarted!: () => void
    const started = new Promise<void>((resolve) => (sendStarted = resolve))
    Object.assign(delivery, {sendDelayMs: 700, onSend: () => sendStarted()})
    await started
    const loop = app!.get(SignalbusFlushLoop)
    await app!.close()
    app = undefined
    expect(loop.running).to.equal(false)
    expect(dataSource.isInitialized).to.equal(false)
    expect(() => signalbusPublisher()).to.throw(SignalbusConfigError, 'No RabbitMQ publisher is registered as "default"')
    // The burst in flight was delivered and committed; the loop started no other.
    expect(await queue.messageCount()).to.equal(1)
    const database = await new DataSource({...POSTGRES, entityPrefix: prefix, entities: [NestTestSignal]}).initialize()
    expect(await database.getRepository(NestTestSignal).count()).to.equal(2)
    await database.getRepository(NestTestSignal).clear()
    await database.destroy()
    expect(logger.lines.filter((line) => line.startsWith('error') || line.startsWith('warn'))).to.deep.equal([])
    expect(logger.lines).to.include.members(['log [Signalbus] Flushing every signal model every 0.1 s.', 'log [Signalbus] The flush loop has stopped.'])
  })

  /** Compiling fails before Nest hands out the app: keep the DataSource to destroy it ourselves. */
  async function startFailure(flushLoop: {intervalSeconds: number; models?: string[]}): Promise<unknown> {
    let dataSource: DataSource | undefined
    const database = TypeOrmModule.forRootAsync({
      useFactory: () => ({...POSTGRES, entityPrefix: prefix, entities: [NestTestSignal]}),
      dataSourceFactory: async (options) => (dataSource = await new DataSource(options!).initialize()),
    })
    try {
      await boot([database, SignalbusModule.forRoot({flushLoop})])
    } catch (error) {
      return error
    } finally {
      await dataSource?.destroy()
    }
    throw new Error('the application started')
  }

  it('flushLoop with a model that is not a signal model fails the application’s start', async () => {
    const failure = await startFailure({intervalSeconds: 1, models: ['NoSuchSignal']})
    expect(failure).to.be.instanceOf(SignalbusConfigError)
    expect((failure as Error).message).to.equal('A signal with name "NoSuchSignal" does not exist.')
  })

  it('flushLoop.intervalSeconds must be a positive number', async () => {
    const failure = await startFailure({intervalSeconds: 0})
    expect((failure as Error).message).to.equal('flushLoop.intervalSeconds must be a positive number of seconds, not 0.')
  })
})
