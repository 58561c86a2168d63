// Injection tokens and decorators, per @nestjs/typeorm DataSource: the classes themselves for the default one, names for the others.
import {Inject} from '@nestjs/common'
import {RabbitmqPublisher} from '../rabbitmq/index.js'
import {SignalBus} from '../signalbus.js'
import {SignalbusFlushLoop} from './flush-loop.js'
import {SignalbusTransactions} from './transactions.js'

/** The registry name and token prefix of the module on `dataSourceName` (as @nestjs/typeorm, 'default' when unnamed). */
export function signalbusName(dataSourceName: string | undefined): string {
  return dataSourceName ?? 'default'
}

function tokenFor<T>(defaultToken: T, suffix: string, dataSourceName: string | undefined): T | string {
  const name = signalbusName(dataSourceName)
  return name === 'default' ? defaultToken : `${name}${suffix}`
}

export function getSignalBusToken(dataSourceName?: string): typeof SignalBus | string {
  return tokenFor(SignalBus, 'SignalBus', dataSourceName)
}

export function getRabbitmqPublisherToken(dataSourceName?: string): typeof RabbitmqPublisher | string {
  return tokenFor(RabbitmqPublisher, 'RabbitmqPublisher', dataSourceName)
}

export function getSignalbusTransactionsToken(dataSourceName?: string): typeof SignalbusTransactions | string {
  return tokenFor(SignalbusTransactions, 'SignalbusTransactions', dataSourceName)
}

/** The options the module was given (after forRootAsync's factory ran). */
export function getSignalbusOptionsToken(dataSourceName?: string): string {
  return `SignalbusModuleOptions:${signalbusName(dataSourceName)}`
}

export function getSignalbusFlushLoopToken(dataSourceName?: string): typeof SignalbusFlushLoop | string {
  return tokenFor(SignalbusFlushLoop, 'SignalbusFlushLoop', dataSourceName)
}

/** The provider that registers and closes the module's publisher (internal). */
export function getPublisherLifecycleToken(dataSourceName?: string): string {
  return `SignalbusPublisherLifecycle:${signalbusName(dataSourceName)}`
}

export const InjectSignalBus = (dataSourceName?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getSignalBusToken(dataSourceName))

export const InjectRabbitmqPublisher = (dataSourceName?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getRabbitmqPublisherToken(dataSourceName))

export const InjectSignalbusTransactions = (dataSourceName?: string): PropertyDecorator & ParameterDecorator =>
  Inject(getSignalbusTransactionsToken(dataSourceName))
