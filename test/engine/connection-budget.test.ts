import {expect} from 'chai'
import {connectionBudget} from '../../src/engine/connection-budget.js'

describe('connection budget', () => {
  it('gives the default pool of 10 four models at once with one burst in flight (2 connections each, one kept free)', () => {
    expect(connectionBudget({poolSize: 10, overlapsBursts: true, inFlight: [1, 1]})).to.deep.equal({maxInFlight: 1, concurrency: 4, warnings: []})
  })

  it('fits models with 4 bursts in flight into the pool: M × (N + 1) ≤ pool − 1', () => {
    expect(connectionBudget({poolSize: 10, overlapsBursts: true, inFlight: [4]}).concurrency).to.equal(1)
    expect(connectionBudget({poolSize: 21, overlapsBursts: true, inFlight: [4, 1], concurrency: 4})).to.deep.equal({
      maxInFlight: 4,
      concurrency: 4,
      warnings: [],
    })
  })

  it('caps in-flight and concurrency to the pool with one warning line each', () => {
    expect(connectionBudget({poolSize: 10, overlapsBursts: true, inFlight: [2], concurrency: 4})).to.deep.equal({
      maxInFlight: 2,
      concurrency: 3,
      warnings: ['Concurrency 4 with 3 connections per model needs 13 connections, but the pool has 10: capped to 3.'],
    })
    expect(connectionBudget({poolSize: 3, overlapsBursts: true, inFlight: [4]}).maxInFlight).to.equal(1)
  })

  it('keeps a single writer at one burst and one model, saying so', () => {
    expect(connectionBudget({poolSize: 10, overlapsBursts: false, inFlight: [4], concurrency: 2})).to.deep.equal({
      maxInFlight: 1,
      concurrency: 1,
      warnings: [
        'SQLite has a single writer: bursts are sent one at a time (in-flight 4 ignored).',
        'SQLite has a single writer: models are flushed one at a time (concurrency 2 ignored).',
      ],
    })
  })
})
