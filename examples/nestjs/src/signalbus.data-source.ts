// What `signalbus flushmany` loads: the app's TypeORM options and its publisher, without booting the Nest app.
import 'reflect-metadata'
import {ConfigService} from '@nestjs/config'
import {RabbitmqPublisher} from 'signalbus'
import {registerSignalbusPublisher} from 'signalbus/nestjs'
import {DataSource} from 'typeorm'
import {databaseOptions} from './config/database'
import {rabbitmqOptions} from './config/signalbus'

// Reads process.env, which the CLI fills from .env first ("signalbus": {"envFile": ".env"} in package.json).
const config = new ConfigService()

// The CLI closes the publisher when the command ends.
registerSignalbusPublisher(new RabbitmqPublisher(rabbitmqOptions(config)))

export default new DataSource(databaseOptions(config))
