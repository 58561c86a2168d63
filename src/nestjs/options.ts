// What SignalbusModule.forRoot / forRootAsync accept: the publisher's settings, the optional in-app flush loop, a logger.
import type {InjectionToken, ModuleMetadata, OptionalFactoryDependency} from '@nestjs/common'
import type {AtomicOptions} from '../atomic/atomic.js'
import type {Logger} from '../logger.js'
import type {RabbitmqPublisherOptions} from '../rabbitmq/index.js'
import type {ModelRef} from '../signalbus.js'

export interface FlushLoopOptions {
  /** Run a flushmany round every this many seconds (the sleep subtracts the time the round took). */
  intervalSeconds: number
  /** The models to flush, as classes or names (default: every signal model of the DataSource). */
  models?: readonly ModelRef[]
  /** Signals per transaction for every model, instead of each model's `signalbusBurstCount`. */
  burst?: number
  /** The longest wait after failed rounds (default 60 s). */
  maxBackoffSeconds?: number
}

export interface SignalbusModuleOptions {
  /**
   * The module's RabbitmqPublisher (it connects on first publish): `url`, or `urls` for a cluster's nodes (failover).
   * Default: `$SIGNALBUS_RABBITMQ_URL` (comma-separated for several nodes), else amqp://localhost.
   */
  rabbitmq?: RabbitmqPublisherOptions
  /** Flush inside the application, from onApplicationBootstrap until shutdown. Off by default. */
  flushLoop?: FlushLoopOptions
  /** Receives SignalBus's, the publisher's and the flush loop's lines. Default: Nest's Logger, context "Signalbus". */
  logger?: Logger
  /** Defaults for SignalbusTransactions.executeAtomic / atomic (each call may override them). */
  atomic?: AtomicOptions
}

/** Which @nestjs/typeorm DataSource the module works on; fixed when the module is declared, as TypeOrmModule's `name`. */
export interface SignalbusDataSourceName {
  /** The `name` given to TypeOrmModule.forRoot(Async); default: the default DataSource. */
  dataSourceName?: string
}

export interface SignalbusModuleAsyncOptions extends SignalbusDataSourceName, Pick<ModuleMetadata, 'imports'> {
  inject?: Array<InjectionToken | OptionalFactoryDependency>
  /** Receives the `inject` providers in order (for example ConfigService). */
  useFactory: (...dependencies: never[]) => SignalbusModuleOptions | Promise<SignalbusModuleOptions>
}
