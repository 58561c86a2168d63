// The business row: an order.
import {Column, CreateDateColumn, Entity, PrimaryGeneratedColumn} from 'typeorm'

@Entity()
export class Order {
  @PrimaryGeneratedColumn('uuid')
  id!: string

  @Column({type: 'varchar', length: 100})
  customer!: string

  @Column({type: 'integer'})
  totalCents!: number

  @CreateDateColumn()
  placedAt!: Date
}
