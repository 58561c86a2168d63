// Owns the module's RabbitmqPublisher in the application's lifecycle: registered for signal entities on init,
// unregistered and closed at shutdown (after every flush loop has stopped in beforeApplicationShutdown).
import type {OnApplicationShutdown, OnModuleInit} from '@nestjs/common'
import type {RabbitmqPublisher} from '../rabbitmq/index.js'
import {registerSignalbusPublisher} from './publishers.js'

export class PublisherLifecycle implements OnModuleInit, OnApplicationShutdown {
  private unregister: (() => void) | undefined

  constructor(
    private readonly publisher: RabbitmqPublisher,
    private readonly name: string,
  ) {}

  onModuleInit(): void {
    this.unregister = registerSignalbusPublisher(this.publisher, this.name)
  }

  async onApplicationShutdown(): Promise<void> {
    this.unregister?.()
    this.unregister = undefined
    await this.publisher.close()
  }
}
