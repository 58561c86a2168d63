// Running signalbus as a service: Prometheus metrics, health state and the HTTP endpoint that serves both.
export {SignalbusMetrics} from './metrics.js'
export type {BacklogOptions, RoundResult, SignalbusMetricsOptions} from './metrics.js'
export {HealthState} from './health.js'
export type {HealthOptions, Liveness, Readiness} from './health.js'
export {startMetricsServer} from './server.js'
export type {MetricsServer, MetricsServerOptions} from './server.js'
export {unreachableService} from './reachability.js'
export type {UnreachableService} from './reachability.js'
