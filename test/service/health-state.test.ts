// The probes' rules on a clock the test turns: liveness against max(3 × interval, 30 s) plus backoff, and which
// failures make the relay not ready.
import {expect} from 'chai'
import {DatabaseError, DeliveryError, HealthState, SignalSendError} from '../../src/index.js'

function clock(): {now: () => number; advance: (seconds: number) => void} {
  let at = 0
  return {now: () => at, advance: (seconds) => (at += seconds * 1000)}
}

const round = (failed: Array<{model: string; error: unknown}>, sent = 0) => ({sent, failed, seconds: 0.01})

describe('HealthState', function () {
  it('is live while rounds finish within max(3 × interval, 30 s), and stuck after', function () {
    const time = clock()
    const health = new HealthState({intervalSeconds: 20, now: time.now})
    time.advance(59)
    expect(health.liveness().ok).to.equal(true)
    time.advance(2)
    expect(health.liveness()).to.include({ok: false, limitSeconds: 60})
    health.roundFinished(round([]))
    expect(health.liveness().ok).to.equal(true)

    const short = new HealthState({intervalSeconds: 1, now: time.now})
    time.advance(31)
    expect(short.liveness()).to.include({ok: false, limitSeconds: 30})
  })

  it('counts committed bursts as progress and allows for the backoff the loop announced', function () {
    const time = clock()
    const health = new HealthState({intervalSeconds: 1, now: time.now})
    time.advance(25)
    health.burstCommitted()
    time.advance(25)
    expect(health.liveness().ok, 'a long backlog is not a stuck loop').to.equal(true)
    health.roundFinished(round([{model: 'A', error: new Error('the round failed')}]))
    health.nextRoundIn(60)
    time.advance(80)
    expect(health.liveness().ok, 'waiting out a backoff').to.equal(true)
    time.advance(20)
    expect(health.liveness().ok).to.equal(false)
  })

  it('is ready only after a round reached the database and the broker; a poison signal does not count', function () {
    const health = new HealthState({intervalSeconds: 1})
    expect(health.readiness()).to.include({ok: false, roundFinished: false})
    health.roundFinished(round([]))
    expect(health.readiness().ok).to.equal(true)

    const lostDatabase = new DatabaseError('Reading t failed: connect ECONNREFUSED 127.0.0.1:5432', {
      cause: Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), {code: 'ECONNREFUSED'}),
    })
    health.roundFinished(round([{model: 'A', error: lostDatabase}]))
    expect(health.readiness()).to.include({ok: false, database: false, broker: true})

    const refused = new DeliveryError('Could not connect to RabbitMQ at amqp://guest:***@h: Socket closed abruptly during opening handshake', {
      kind: 'unreachable',
    })
    const lostBroker = new SignalSendError('A', `Sending 1 signal(s) of "A" failed: ${refused.message}`, {cause: refused})
    health.roundFinished(round([{model: 'A', error: lostBroker}]))
    expect(health.readiness()).to.include({ok: false, database: true, broker: false})
    expect(health.readiness().reason).to.match(/Could not connect to RabbitMQ/)

    health.roundFinished(round([]))
    expect(health.readiness().ok, 'an idle round does not vouch for the broker').to.equal(false)
    const poison = new SignalSendError('A', 'Sending 1 signal(s) of "A" failed: invalid payload', {cause: new Error('invalid payload')})
    health.roundFinished(round([{model: 'A', error: poison}]))
    expect(health.readiness(), 'a send that failed on its own got through').to.include({ok: true, broker: true})
    const missingTable = new DatabaseError('Reading t failed: relation "t" does not exist', {
      cause: Object.assign(new Error('relation "t" does not exist'), {code: '42P01'}),
    })
    health.roundFinished(round([{model: 'B', error: missingTable}]))
    expect(health.readiness().ok, "one model's table problem").to.equal(true)
  })
})
