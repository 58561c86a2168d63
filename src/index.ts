// The public library API of signalbus.
export {SignalBus} from './signalbus.js'
export type {
  FlushOptions,
  FlushPendingOptions,
  ModelRef,
  SignalBusOptions,
  SignalModelStatus,
} from './signalbus.js'
export {getModelsToFlush, unknownNameMessage} from './model-names.js'
export type {ModelNameOptions, UnknownNameHandling} from './model-names.js'
export {DEFAULT_BURST_COUNT} from './signal-model.js'
export type {SignalInstance, SignalModel, SignalModelClass} from './signal-model.js'
export type {FlushFailure, FlushReport} from './flush-report.js'
export {DatabaseError, DeliveryError, FlushError, SignalSendError, SignalbusConfigError} from './errors.js'
export type {DeliveryErrorKind, DeliveryErrorOptions} from './errors.js'
export {initializeForFlushing} from './prepare-data-source.js'
export {repeatEvery} from './repeat.js'
export type {RepeatOptions} from './repeat.js'
export {silentLogger} from './logger.js'
export type {Logger} from './logger.js'
export {SUPPORTED_DATABASE_TYPES} from './engine/dialects/index.js'
export {RabbitmqPublisher, RABBITMQ_URL_ENV, RETURN_TAG_HEADER} from './rabbitmq/index.js'
export type {RabbitmqMessage, RabbitmqPublisherOptions} from './rabbitmq/index.js'
export {onShutdown, runShutdownHooks} from './shutdown-hooks.js'
export type {ShutdownHook} from './shutdown-hooks.js'
export {maskCredentials} from './mask-credentials.js'
export {atomic, executeAtomic} from './atomic/atomic.js'
export type {AtomicBlock, AtomicOptions, AtomicRetry} from './atomic/atomic.js'
export type {AttemptStage} from './atomic/attempt.js'
export type {IsolationLevel} from './atomic/isolation.js'
export {retryOnIntegrityError} from './atomic/retry-on-integrity-error.js'
export {DBSerializationError, UnexpectedRollbackError} from './atomic/errors.js'
