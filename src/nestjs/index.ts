// signalbus/nestjs: SignalbusModule for NestJS applications on @nestjs/typeorm (optional peer dependencies).
export {SignalbusModule} from './signalbus.module.js'
export type {FlushLoopOptions, SignalbusDataSourceName, SignalbusModuleAsyncOptions, SignalbusModuleOptions} from './options.js'
export {SignalbusTransactions} from './transactions.js'
export {SignalbusFlushLoop} from './flush-loop.js'
export {registerSignalbusPublisher, signalbusPublisher} from './publishers.js'
export {nestLogger} from './nest-logger.js'
export {
  InjectRabbitmqPublisher,
  InjectSignalBus,
  InjectSignalbusTransactions,
  getRabbitmqPublisherToken,
  getSignalBusToken,
  getSignalbusFlushLoopToken,
  getSignalbusOptionsToken,
  getSignalbusTransactionsToken,
} from './tokens.js'
