// A loopback TCP proxy a test owns, in front of one server (PostgreSQL here): `reachable = false` refuses new
// connections and `cut()` drops the open ones, so an outage hits one child process and never the shared service.
import net from 'node:net'

/** Listens on a free loopback port; resolves once it is listening. */
export function listenOnLoopback(server: net.Server): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => resolve())
  })
}

export class TcpProxy {
  reachable = true
  private readonly sockets = new Set<net.Socket>()

  private constructor(
    private readonly server: net.Server,
    private readonly target: {host: string; port: number},
  ) {}

  static async start(targetPort: number, targetHost = '127.0.0.1'): Promise<TcpProxy> {
    const server = net.createServer()
    const proxy = new TcpProxy(server, {host: targetHost, port: targetPort})
    server.on('connection', (client) => proxy.accept(client))
    await listenOnLoopback(server)
    return proxy
  }

  get port(): number {
    return (this.server.address() as net.AddressInfo).port
  }

  /** Takes the server away: open connections drop, new ones are refused until `restore()`. */
  down(): void {
    this.reachable = false
    for (const socket of this.sockets) socket.destroy()
    this.sockets.clear()
  }

  restore(): void {
    this.reachable = true
  }

  async close(): Promise<void> {
    this.down()
    await new Promise<void>((resolve) => this.server.close(() => resolve()))
  }

  private accept(client: net.Socket): void {
    if (!this.reachable) {
      client.destroy()
      return
    }
    const upstream = net.connect(this.target.port, this.target.host)
    this.sockets.add(client).add(upstream)
    client.pipe(upstream)
    upstream.pipe(client)
    const drop = (): void => {
      client.destroy()
      upstream.destroy()
      this.sockets.delete(client)
      this.sockets.delete(upstream)
    }
    for (const socket of [client, upstream]) {
      socket.on('error', drop)
      socket.on('close', drop)
    }
  }
}
