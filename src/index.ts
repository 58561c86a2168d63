// The public library API of signalbus.
export {SignalBus} from './signalbus.js'
export type {
  FlushOptions,
  FlushPendingOptions,
  ModelFlushOutcome,
  ModelRef,
  RunOptions,
  SignalBusOptions,
  SignalModelStatus,
} from './signalbus.js'
export {getModelsToFlush, unknownNameMessage} from './model-names.js'
export type {ModelNameOptions, UnknownNameHandling} from './model-names.js'
export {DEFAULT_BURST_COUNT, DEFAULT_IN_FLIGHT} from './signal-model.js'
export type {SignalInstance, SignalModel, SignalModelClass} from './signal-model.js'
export type {FailingSignal, FlushFailure, FlushReport, SignalFailures} from './flush-report.js'
export type {SignalFailureEvent} from './engine/flush-engine.js'
export type {FailureOutcome, FailureRecorder, SignalFailure} from './engine/failure-recorder.js'
export type {RawRow, SignalTable} from './engine/signal-table.js'
export {
  BookkeepingNotSetUpError,
  DatabaseError,
  DeliveryError,
  FlushError,
  SignalSendError,
  SignalbusConfigError,
} from './errors.js'
export type {DeliveryErrorKind, DeliveryErrorOptions} from './errors.js'
export {DeadLetters, parseKeyArgument} from './dead-letters/index.js'
export type {DeadLetter, DeadLetterKey, RequeueFailure, RequeueOptions, RequeueReport} from './dead-letters/index.js'
export type {BookkeepingDialect, BookkeepingTables, StoredRow, StoredValue, TableColumn} from './engine/dialects/bookkeeping/index.js'
export {SETUP_PARTS} from './setup/index.js'
export type {SetupContext, SetupPart, SetupPartPlan, SetupPlan} from './setup/index.js'
export {initializeForFlushing} from './prepare-data-source.js'
export {repeatEvery} from './repeat.js'
export type {RepeatOptions} from './repeat.js'
export {silentLogger} from './logger.js'
export type {LogFields, Logger} from './logger.js'
export {observeAll, silentObserver} from './flush-observer.js'
export type {BurstCommitted, DeadLettered, FlushObserver, RoundFinished, SendFailed} from './flush-observer.js'
export {HealthState, SignalbusMetrics, startMetricsServer, unreachableService} from './metrics/index.js'
export type {
  BacklogOptions,
  HealthOptions,
  Liveness,
  MetricsServer,
  MetricsServerOptions,
  Readiness,
  RoundResult,
  SignalbusMetricsOptions,
  UnreachableService,
} from './metrics/index.js'
export {PostgresListener, WakeUp, channelFor, dropListenTriggerStatements, listenTriggerStatements} from './listen/index.js'
export type {PostgresListenerOptions} from './listen/index.js'
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
