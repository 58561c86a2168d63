// Whose fault a failed send is, by DeliveryError kind, and which kinds say "broker unreachable" to readiness.
import {expect} from 'chai'
import {DeliveryError, SignalSendError, unreachableService, type DeliveryErrorKind} from '../../src/index.js'
import {failureScope} from '../../src/engine/failure-scope.js'

const SYSTEMIC: DeliveryErrorKind[] = ['unreachable', 'connection-lost', 'channel-closed', 'timeout']
const SIGNALS: DeliveryErrorKind[] = ['nacked', 'unroutable', 'too-large', 'unencodable', 'other']
const sendFailed = (error: unknown) => new SignalSendError('A', 'Sending 1 signal(s) of "A" failed', {cause: error})

describe('failureScope and readiness by DeliveryError kind', function () {
  for (const kind of SYSTEMIC) {
    it(`a DeliveryError of kind ${kind} is systemic, also wrapped in a user's error`, function () {
      const error = new DeliveryError('x', {kind})
      expect(failureScope(error)).to.equal('systemic')
      expect(failureScope(new Error('publishing failed', {cause: error}))).to.equal('systemic')
    })
  }

  for (const kind of SIGNALS) {
    it(`a DeliveryError of kind ${kind} is the signals' own (narrowed down)`, function () {
      expect(failureScope(new DeliveryError('x', {kind, failedMessages: [0]}))).to.equal('signals')
    })
  }

  it('a DeliveryError constructed without a kind is of kind other and narrowed down, as any error of a send method', function () {
    const error = new DeliveryError('my HTTP bus said no')
    expect(error.kind).to.equal('other')
    expect(error.failedMessages).to.equal(undefined)
    expect(failureScope(error)).to.equal('signals')
    expect(failureScope(new Error('anything'))).to.equal('signals')
  })

  it('a DeliveryError of kind other whose cause is a socket error is systemic', function () {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:8080'), {code: 'ECONNREFUSED'})
    expect(failureScope(new DeliveryError('my HTTP bus is down', {cause: refused}))).to.equal('systemic')
  })

  it('recognises another copy\'s DeliveryError by name and kind (no instanceof)', function () {
    const foreign = Object.assign(new Error('x'), {name: 'DeliveryError', kind: 'connection-lost'})
    expect(failureScope(foreign)).to.equal('systemic')
    expect(failureScope(Object.assign(new Error('x'), {name: 'DeliveryError', kind: 'nacked'}))).to.equal('signals')
  })

  it('readiness: unreachable, connection-lost and timeout mean "broker unreachable"; the others do not', function () {
    for (const kind of ['unreachable', 'connection-lost', 'timeout'] as const) {
      expect(unreachableService(sendFailed(new DeliveryError('x', {kind}))), kind).to.equal('broker')
    }
    for (const kind of ['channel-closed', 'nacked', 'unroutable', 'too-large', 'unencodable'] as const) {
      expect(unreachableService(sendFailed(new DeliveryError('Could not connect to RabbitMQ (a message that says so)', {kind}))), kind).to.equal(undefined)
    }
  })

  it('readiness: a DeliveryError of kind other is judged by its causes and message', function () {
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5672'), {code: 'ECONNREFUSED'})
    expect(unreachableService(sendFailed(new DeliveryError('bus down', {cause: refused})))).to.equal('broker')
    expect(unreachableService(sendFailed(new DeliveryError('the payload was refused')))).to.equal(undefined)
  })
})
