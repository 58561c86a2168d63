// The relay's HTTP endpoint (node:http): GET /metrics (Prometheus text), /healthz (liveness), /readyz (readiness).
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {SignalbusConfigError, describeError} from '../errors.js'
import type {HealthState} from './health.js'
import type {SignalbusMetrics} from './metrics.js'

export interface MetricsServerOptions {
  port: number
  /** Default 127.0.0.1: metrics are not published beyond the machine unless asked for (0.0.0.0 in a container). */
  host?: string
  metrics: SignalbusMetrics
  health?: HealthState
}

export interface MetricsServer {
  /** The port actually bound (useful with port 0). */
  readonly port: number
  readonly host: string
  close(): Promise<void>
}

/** Listens, or throws a SignalbusConfigError (one line, exit 2) when the port is taken or not allowed. */
export async function startMetricsServer(options: MetricsServerOptions): Promise<MetricsServer> {
  const host = options.host ?? '127.0.0.1'
  const server = createServer((request, response) => void handle(options, request, response))
  // A scraper's keep-alive connection must not keep the process alive after the last burst.
  server.keepAliveTimeout = 1000
  await listen(server, options.port, host)
  const {port} = server.address() as AddressInfo
  return {
    port,
    host,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE'
          ? 'the port is already in use'
          : error.code === 'EACCES'
            ? 'permission denied'
            : describeError(error)
      reject(new SignalbusConfigError(`Cannot serve metrics on ${host}:${port}: ${why}.`, {cause: error}))
    })
    server.listen(port, host, () => resolve())
  })
}

async function handle(options: MetricsServerOptions, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const path = (request.url ?? '/').split('?')[0]
  if (request.method !== 'GET' && request.method !== 'HEAD') return reply(response, 405, 'text/plain', 'Method Not Allowed\n')
  try {
    switch (path) {
      case '/metrics':
        return reply(response, 200, options.metrics.contentType, await options.metrics.text())
      case '/healthz': {
        const live = options.health?.liveness()
        return replyJson(response, !live || live.ok ? 200 : 503, live ?? {ok: true})
      }
      case '/readyz': {
        const ready = options.health?.readiness()
        return replyJson(response, !ready || ready.ok ? 200 : 503, ready ?? {ok: true})
      }
      default:
        return reply(response, 404, 'text/plain', 'Not Found: try /metrics, /healthz or /readyz\n')
    }
  } catch (error) {
    return reply(response, 500, 'text/plain', `${describeError(error)}\n`)
  }
}

function replyJson(response: ServerResponse, status: number, body: object): void {
  reply(response, status, 'application/json', `${JSON.stringify(body)}\n`)
}

function reply(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, {'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body)})
  response.end(response.req.method === 'HEAD' ? undefined : body)
}
