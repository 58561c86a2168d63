// RabbitMQ delivery: the confirm-channel publisher and its message shape.
export {RabbitmqPublisher, RABBITMQ_URL_ENV, RETURN_TAG_HEADER} from './publisher.js'
export type {RabbitmqPublisherOptions} from './publisher.js'
export type {RabbitmqMessage} from './message.js'
