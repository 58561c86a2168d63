import {expect} from 'chai'
import {repeatEvery} from '../src/index.js'
import {backoff} from '../src/repeat.js'

describe('repeatEvery', () => {
  it('backs off exponentially after failed rounds, within ±20 % jitter, capped at the maximum', () => {
    const waits = [1, 2, 3, 4, 10].map((failures) => backoff(1000, failures, 8000))
    expect(waits[0]).to.be.within(800, 1200)
    expect(waits[1]).to.be.within(1600, 2400)
    expect(waits[2]).to.be.within(3200, 4800)
    expect(waits[3]).to.be.within(6400, 9600)
    expect(waits[4]).to.be.within(6400, 9600)
  })

  it('reports a failed round with the time until the next one, and resets after a round that succeeds', async () => {
    const controller = new AbortController()
    const outcomes = [false, 'throw', true, false] as const
    const reported: Array<{error: string; retryIn: number}> = []
    let round = 0
    await repeatEvery(
      {
        intervalSeconds: 0.01,
        signal: controller.signal,
        onFailure: (error, retryIn) => reported.push({error: (error as Error).message, retryIn}),
      },
      async () => {
        const outcome = outcomes[round++]
        if (round === outcomes.length) controller.abort()
        if (outcome === 'throw') throw new Error('database went away')
        return outcome
      },
    )
    expect(round).to.equal(4)
    expect(reported.map((report) => report.error)).to.deep.equal(['the round failed', 'database went away', 'the round failed'])
    expect(reported[0]!.retryIn).to.be.within(0.8, 1.2)
    expect(reported[1]!.retryIn).to.be.within(1.6, 2.4)
    expect(reported[2]!.retryIn, 'the success in between reset the backoff').to.be.within(0.8, 1.2)
  })

  it('returns as soon as it is aborted, without waiting for the interval', async () => {
    const controller = new AbortController()
    const started = performance.now()
    let rounds = 0
    setTimeout(() => controller.abort(), 50)
    await repeatEvery({intervalSeconds: 3600, signal: controller.signal}, async () => {
      rounds++
    })
    expect(rounds).to.equal(1)
    expect(performance.now() - started, "it did not sleep the hour").to.be.below(10_000)
  })
})
