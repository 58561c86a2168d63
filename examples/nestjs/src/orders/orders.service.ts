// Places orders: the order and its OrderPlacedSignal are inserted in one transaction, or neither is.
import {Injectable} from '@nestjs/common'
import {SignalbusTransactions} from 'signalbus/nestjs'
import {Order} from './order.entity'
import {OrderPlacedSignal} from './order-placed.signal'

export interface PlaceOrder {
  customer: string
  totalCents: number
}

@Injectable()
export class OrdersService {
  constructor(private readonly transactions: SignalbusTransactions) {}

  place(input: PlaceOrder): Promise<Order> {
    return this.transactions.executeAtomic(async (manager) => {
      const order = await manager.save(manager.create(Order, input))
      await manager.insert(OrderPlacedSignal, {orderId: order.id, totalCents: order.totalCents})
      return order
    })
  }
}
