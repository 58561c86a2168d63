// CPU seconds used, from /proc: by the whole machine (all cores, busy time) and by each service (RabbitMQ's
// beam.smp, PostgreSQL's processes including exited backends, mariadbd), so that a table can show where the
// two cores went during a case. Linux only; elsewhere every figure is NaN.
import {readFileSync, readdirSync} from 'node:fs'

const TICKS = 100 // USER_HZ on Linux

function machineBusySeconds() {
  const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number)
  const [user, nice, system, , , irq, softirq, steal] = fields
  return (user + nice + system + irq + softirq + (steal ?? 0)) / TICKS
}

/** utime + stime (+ children's, for reaped backends) of every process, grouped by service. */
function serviceSeconds() {
  const totals = {rabbitmq: 0, postgres: 0, mariadb: 0}
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    let stat
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      continue // exited meanwhile
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'))
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ').map(Number)
    const own = (fields[11] + fields[12]) / TICKS
    const children = (fields[13] + fields[14]) / TICKS
    if (name === 'beam.smp') totals.rabbitmq += own
    else if (name === 'mariadbd' || name === 'mysqld') totals.mariadb += own
    else if (name === 'postgres' || name.startsWith('postgres:')) totals.postgres += own + children
  }
  return totals
}

export function cpuSnapshot() {
  try {
    return {at: performance.now(), machine: machineBusySeconds(), services: serviceSeconds()}
  } catch {
    return undefined
  }
}

/** CPU seconds between two snapshots, and the machine's busy share of all its cores. */
export function cpuSince(before, cores) {
  const after = cpuSnapshot()
  if (!before || !after) return {machineSeconds: NaN, machineBusy: NaN, rabbitmq: NaN, postgres: NaN, mariadb: NaN}
  const wall = (after.at - before.at) / 1000
  const machineSeconds = after.machine - before.machine
  return {
    machineSeconds,
    machineBusy: machineSeconds / (wall * cores),
    rabbitmq: after.services.rabbitmq - before.services.rabbitmq,
    postgres: after.services.postgres - before.services.postgres,
    mariadb: after.services.mariadb - before.services.mariadb,
  }
}

/** The machine's busy share of all cores over `milliseconds` while the benchmark itself does nothing. */
export async function backgroundBusy(milliseconds, cores) {
  const before = cpuSnapshot()
  await new Promise((resolve) => setTimeout(resolve, milliseconds))
  return cpuSince(before, cores).machineBusy
}

/**
 * Waits (at most `maxMs`) until the machine has been nearly idle for `windowMs`: the previous case leaves work
 * behind (RabbitMQ deleting a queue of 100,000 messages, autovacuum, InnoDB purge) that would otherwise land in
 * the next measurement. Returns the busy share of the last window.
 */
export async function waitUntilQuiet(cores, {threshold = 0.08, windowMs = 500, maxMs = 15_000} = {}) {
  const deadline = performance.now() + maxMs
  for (;;) {
    const busy = await backgroundBusy(windowMs, cores)
    if (!(busy > threshold) || performance.now() > deadline) return busy
  }
}
