// POST /orders {customer, totalCents}: places an order.
import {BadRequestException, Body, Controller, Post} from '@nestjs/common'
import type {Order} from './order.entity'
import {OrdersService, type PlaceOrder} from './orders.service'

@Controller('orders')
export class OrdersController {
  constructor(private readonly orders: OrdersService) {}

  @Post()
  place(@Body() body: Partial<PlaceOrder>): Promise<Order> {
    if (typeof body.customer !== 'string' || !Number.isInteger(body.totalCents)) {
      throw new BadRequestException('customer (string) and totalCents (integer) are required')
    }
    return this.orders.place({customer: body.customer, totalCents: body.totalCents!})
  }
}
