// Where signal entities find their publisher: TypeORM creates them without Nest's injector, so SignalbusModule
// (or the data-source file the CLI loads) registers the RabbitmqPublisher here under the module's name.
import {SignalbusConfigError} from '../errors.js'
import type {RabbitmqPublisher} from '../rabbitmq/index.js'

// One registry per process, shared by the ESM and CommonJS builds: a CommonJS Nest app flushed by the ESM CLI
// loads both, and an entity must find the publisher whichever build registered it.
const REGISTRY = Symbol.for('signalbus.nestjs.publishers')
const holder = globalThis as {[REGISTRY]?: Map<string, RabbitmqPublisher>}
const publishers = (holder[REGISTRY] ??= new Map<string, RabbitmqPublisher>())

/**
 * Makes `publisher` the one `signalbusPublisher(name)` returns (name: the module's `dataSourceName`, default
 * 'default'); a later registration under the same name replaces it. Returns a function that unregisters it
 * (and leaves a replacement alone).
 */
export function registerSignalbusPublisher(publisher: RabbitmqPublisher, name = 'default'): () => void {
  publishers.set(name, publisher)
  return () => {
    if (publishers.get(name) === publisher) publishers.delete(name)
  }
}

/** The publisher registered under `name`; for a signal entity's send method. Throws when none is registered. */
export function signalbusPublisher(name = 'default'): RabbitmqPublisher {
  const publisher = publishers.get(name)
  if (publisher === undefined) {
    throw new SignalbusConfigError(
      `No RabbitMQ publisher is registered as "${name}": import SignalbusModule${name === 'default' ? '' : ` with dataSourceName "${name}"`} ` +
        'in the application, or call registerSignalbusPublisher() in the data-source file the signalbus CLI loads.',
    )
  }
  return publisher
}
