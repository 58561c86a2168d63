// signalbus's Logger interface on top of Nest's Logger, so the library's lines go wherever the app's logs go (app.useLogger).
import {Logger as NestLogger} from '@nestjs/common'
import type {Logger} from '../logger.js'

export function nestLogger(context = 'Signalbus'): Logger {
  const logger = new NestLogger(context)
  return {
    debug: (message) => logger.debug(message),
    info: (message) => logger.log(message),
    warn: (message) => logger.warn(message),
    error: (message) => logger.error(message),
  }
}
