// The signal announcing a placed order: a row inserted with the order, published to RabbitMQ by whoever flushes it.
import {Column, CreateDateColumn, Entity, PrimaryGeneratedColumn} from 'typeorm'
import {signalbusPublisher} from 'signalbus/nestjs'

@Entity()
export class OrderPlacedSignal {
  @PrimaryGeneratedColumn({type: 'bigint'})
  id!: string

  @Column('uuid')
  orderId!: string

  @Column({type: 'integer'})
  totalCents!: number

  @CreateDateColumn()
  createdAt!: Date

  static signalbusBurstCount = 1000

  // TypeORM creates signal rows without Nest's injector: the publisher comes from the registry that
  // SignalbusModule fills in the app, and signalbus.data-source.ts fills for the CLI.
  static async sendSignalbusMessages(signals: OrderPlacedSignal[]): Promise<void> {
    const exchange = process.env.ORDERS_EXCHANGE ?? 'orders'
    await signalbusPublisher().publish(
      signals.map((signal) => ({
        exchange,
        routingKey: 'order.placed',
        messageId: signal.id, // delivery is at-least-once: consumers deduplicate on it
        body: {orderId: signal.orderId, totalCents: signal.totalCents},
        mandatory: true, // an unroutable message fails the burst instead of vanishing
      })),
    )
  }
}
