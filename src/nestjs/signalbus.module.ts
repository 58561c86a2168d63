// SignalbusModule: SignalBus, a RabbitmqPublisher and SignalbusTransactions on the app's own @nestjs/typeorm
// DataSource, plus the optional in-app flush loop. Global, like TypeOrmModule.forRoot: feature modules inject them.
import {Module, type DynamicModule, type FactoryProvider, type Provider} from '@nestjs/common'
import {getDataSourceToken} from '@nestjs/typeorm'
import type {DataSource} from 'typeorm'
import type {Logger} from '../logger.js'
import {RabbitmqPublisher} from '../rabbitmq/index.js'
import {SignalBus} from '../signalbus.js'
import {SignalbusFlushLoop} from './flush-loop.js'
import {nestLogger} from './nest-logger.js'
import type {SignalbusDataSourceName, SignalbusModuleAsyncOptions, SignalbusModuleOptions} from './options.js'
import {PublisherLifecycle} from './publisher-lifecycle.js'
import {
  getPublisherLifecycleToken,
  getRabbitmqPublisherToken,
  getSignalBusToken,
  getSignalbusFlushLoopToken,
  getSignalbusOptionsToken,
  getSignalbusTransactionsToken,
  signalbusName,
} from './tokens.js'
import {SignalbusTransactions} from './transactions.js'

/** The module's options after forRootAsync's factory ran, with the logger every part shares. */
interface ResolvedOptions extends SignalbusModuleOptions {
  logger: Logger
}

@Module({})
export class SignalbusModule {
  static forRoot(options: SignalbusModuleOptions & SignalbusDataSourceName = {}): DynamicModule {
    const {dataSourceName, ...moduleOptions} = options
    return this.build(dataSourceName, [], {
      provide: getSignalbusOptionsToken(dataSourceName),
      useFactory: (): ResolvedOptions => resolve(moduleOptions),
    })
  }

  static forRootAsync(options: SignalbusModuleAsyncOptions): DynamicModule {
    const {dataSourceName, imports = [], inject = [], useFactory} = options
    const factory = useFactory as (...dependencies: unknown[]) => SignalbusModuleOptions | Promise<SignalbusModuleOptions>
    return this.build(dataSourceName, imports, {
      provide: getSignalbusOptionsToken(dataSourceName),
      inject,
      useFactory: async (...dependencies: unknown[]): Promise<ResolvedOptions> => resolve(await factory(...dependencies)),
    })
  }

  private static build(
    dataSourceName: string | undefined,
    imports: NonNullable<DynamicModule['imports']>,
    optionsProvider: FactoryProvider<ResolvedOptions>,
  ): DynamicModule {
    const optionsToken = getSignalbusOptionsToken(dataSourceName)
    const dataSourceToken = getDataSourceToken(dataSourceName)
    const busToken = getSignalBusToken(dataSourceName)
    const publisherToken = getRabbitmqPublisherToken(dataSourceName)
    const providers: Provider[] = [
      optionsProvider,
      {
        provide: busToken,
        inject: [dataSourceToken, optionsToken],
        useFactory: (dataSource: DataSource, options: ResolvedOptions) => new SignalBus(dataSource, {logger: options.logger}),
      },
      {
        provide: publisherToken,
        inject: [optionsToken],
        useFactory: (options: ResolvedOptions) => new RabbitmqPublisher({logger: options.logger, ...options.rabbitmq}),
      },
      {
        provide: getSignalbusTransactionsToken(dataSourceName),
        inject: [dataSourceToken, optionsToken],
        useFactory: (dataSource: DataSource, options: ResolvedOptions) =>
          new SignalbusTransactions(dataSource, {logger: options.logger, ...options.atomic}),
      },
      {
        provide: getSignalbusFlushLoopToken(dataSourceName),
        inject: [busToken, optionsToken],
        useFactory: (bus: SignalBus, options: ResolvedOptions) => new SignalbusFlushLoop(bus, options.flushLoop, options.logger),
      },
      {
        provide: getPublisherLifecycleToken(dataSourceName),
        inject: [publisherToken],
        useFactory: (publisher: RabbitmqPublisher) => new PublisherLifecycle(publisher, signalbusName(dataSourceName)),
      },
    ]
    return {
      module: SignalbusModule,
      global: true,
      imports,
      providers,
      exports: [
        busToken,
        publisherToken,
        getSignalbusTransactionsToken(dataSourceName),
        getSignalbusFlushLoopToken(dataSourceName),
      ],
    }
  }
}

function resolve(options: SignalbusModuleOptions): ResolvedOptions {
  return {...options, logger: options.logger ?? nestLogger()}
}
