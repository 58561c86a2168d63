// SignalbusModule on NestJS 12, whose packages are ESM-only, and typeorm 0.3, from a CommonJS app: the package packed
// and installed with npm the way users get it (the repository itself develops against Nest 11 and typeorm 1.x). Needs the build and the registry
// (through the packed-install tests' shared npm cache).
import {expect} from 'chai'
import {randomBytes} from 'node:crypto'
import {mkdtemp, rm} from 'node:fs/promises'
import {tmpdir} from 'node:os'
import path from 'node:path'
import {createApp, packRepository, run} from '../helpers/packed-install.js'
import {repoRoot} from '../helpers/paths.js'
import {RABBITMQ_URL, TestQueue} from '../helpers/rabbitmq.js'

const NPM_TIMEOUT_MS = 8 * 60_000
/** The repository's own tests run on typeorm 1.x; this app takes the 0.3 line most Nest apps still run. */
const TYPEORM_03 = '0.3.31'

describe('signalbus/nestjs on NestJS 12 and typeorm 0.3 (packed install, CommonJS app)', function () {
  this.timeout(10 * 60_000)
  let workspace: string
  let queue: TestQueue

  before(async () => {
    workspace = await mkdtemp(path.join(tmpdir(), 'signalbus-nest12-'))
    queue = await TestQueue.create()
  })

  after(async () => {
    await queue?.destroy()
    if (workspace) await rm(workspace, {recursive: true, force: true})
  })

  it('boots, inserts through SignalbusTransactions, delivers through the in-app loop and stops it at close', async () => {
    const tarball = await packRepository(workspace, NPM_TIMEOUT_MS)
    const app = path.join(workspace, 'app')
    await createApp(
      path.join(repoRoot, 'test', 'fixtures', 'nestjs', 'nest12-app'),
      app,
      [tarball.file, '@nestjs/common@^12', '@nestjs/core@^12', '@nestjs/typeorm@^12', '@nestjs/testing@^12', 'rxjs@^7.8.0', 'reflect-metadata@^0.2.2', `typeorm@${TYPEORM_03}`, 'pg@^8.16.0'],
      NPM_TIMEOUT_MS,
    )
    const result = await run(process.execPath, ['app.cjs'], {
      cwd: app,
      env: {
        DATABASE_URL: 'postgres://postgres@127.0.0.1:5432/test',
        RABBITMQ_URL,
        QUEUE: queue.name,
        TABLE_PREFIX: `sbn12_${randomBytes(4).toString('hex')}_`,
      },
      timeoutMs: 60_000,
    })
    expect(result.stderrLines).to.deep.equal([])
    expect(result.code).to.equal(0)
    const seen = JSON.parse(result.stdout) as {nest: string; typeorm: string; sameDataSource: boolean; pending: number; runningBefore: boolean; runningAfter: boolean}
    expect(seen.nest).to.match(/^12\./)
    expect(seen.typeorm).to.equal(TYPEORM_03)
    expect(seen).to.include({sameDataSource: true, pending: 0, runningBefore: true, runningAfter: false})
    expect(await queue.messageCount()).to.equal(2)
  })
})
