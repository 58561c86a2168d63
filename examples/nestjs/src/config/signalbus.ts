// signalbus's settings, read from ConfigService: the broker for SignalbusModule.forRootAsync and the CLI's data source.
import type {ConfigService} from '@nestjs/config'
import type {RabbitmqPublisherOptions} from 'signalbus'
import type {SignalbusModuleOptions} from 'signalbus/nestjs'

export function rabbitmqOptions(config: ConfigService): RabbitmqPublisherOptions {
  return {url: config.getOrThrow<string>('RABBITMQ_URL')}
}

export function signalbusOptions(config: ConfigService): SignalbusModuleOptions {
  // Unset: no loop in the app (and none in each test that boots it); flush with the CLI instead.
  const interval = config.get<string>('SIGNALBUS_FLUSH_INTERVAL')
  return {
    rabbitmq: rabbitmqOptions(config),
    flushLoop: interval ? {intervalSeconds: Number(interval)} : undefined,
  }
}
