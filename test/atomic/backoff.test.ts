// The wait between attempts: a random share of a bound that doubles per failure up to a maximum.
import {expect} from 'chai'
import {backoffDelay} from '../../src/atomic/backoff.js'

describe('atomic retry backoff', () => {
  const options = {baseMs: 100, maxMs: 1_000}

  it('waits a random time below a bound that doubles with every failure, up to the maximum', () => {
    const bounds = [1, 2, 3, 4, 5, 6].map((failures) => backoffDelay(failures, options, () => 0.999_999) + 1)
    expect(bounds).to.deep.equal([100, 200, 400, 800, 1_000, 1_000])
    expect(backoffDelay(3, options, () => 0)).to.equal(0)
  })

  it('spreads the waits of colliding transactions (full jitter)', () => {
    const waits = Array.from({length: 200}, () => backoffDelay(4, options))
    expect(Math.min(...waits)).to.be.at.least(0)
    expect(Math.max(...waits)).to.be.below(800)
    expect(new Set(waits).size, 'distinct waits').to.be.above(50)
  })
})
