// Owns the module's RabbitmqPublisher in the application's lifecycle: registered for signal entities as soon as
// the module is created, unregistered and closed at shutdown (after every flush loop has stopped in
// beforeApplicationShutdown).
import type {OnApplicationShutdown} from '@nestjs/common'
import type {RabbitmqPublisher} from '../rabbitmq/index.js'
import {registerSignalbusPublisher} from './publishers.js'

export class PublisherLifecycle implements OnApplicationShutdown {
  private unregister: (() => void) | undefined

  constructor(
    private readonly publisher: RabbitmqPublisher,
    name: string,
  ) {
    // At creation rather than in onModuleInit: another module's onModuleInit may already flush or publish, and
    // Nest runs those hooks in an order this module does not control.
    this.unregister = registerSignalbusPublisher(publisher, name)
  }

  async onApplicationShutdown(): Promise<void> {
    this.unregister?.()
    this.unregister = undefined
    await this.publisher.close()
  }
}
