/**
 * The payment commands as a person runs them: `ledger`, `wallet`, `receipts` — against a real
 * `ionet-p2p ledger` process, with one-line errors and exit codes for bad input.
 */
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BIN, runCli } from '../helpers/cli.js'
import type { CliResult } from '../helpers/cli.js'

/** A loopback port nothing listens on: bound, then released. */
async function closedPort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise(resolve => server.close(resolve))
  return port
}

function oneLineError (r: CliResult, code: number, pattern: RegExp): void {
  expect(r.code, r.stdout + r.stderr).toBe(code)
  const lines = r.stderr.trim().split('\n')
  expect(lines, r.stderr).toHaveLength(1)
  expect(lines[0]).toMatch(pattern)
}

describe('ledger, wallet and receipts commands', () => {
  let dir: string
  let ledger: ChildProcess
  let url: string
  const rpc = (): string[] => ['--solana-rpc', url]

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'ionet-paycli-'))
    ledger = spawn(process.execPath, [BIN, 'ledger', '--data-dir', join(dir, 'chain'), '--port', '0', '--json'], { stdio: ['ignore', 'pipe', 'pipe'] })
    url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new Error('ledger did not start')) }, 30_000)
      createInterface({ input: ledger.stdout! }).once('line', (line) => { clearTimeout(timer); resolve((JSON.parse(line) as { url: string }).url) })
    })
  }, 60_000)
  afterAll(async () => {
    if (ledger.exitCode === null) {
      const exited = new Promise(resolve => ledger.once('exit', resolve))
      ledger.kill('SIGINT')
      await exited
    }
    await rm(dir, { recursive: true, force: true })
  })

  it('creates a wallet, airdrops to it and shows the balance', async () => {
    const data = ['--data-dir', join(dir, 'node')]
    const address = await runCli(['wallet', 'address', ...data, '--json'])
    expect(address.code, address.stderr).toBe(0)
    const { address: addr, path } = JSON.parse(address.stdout) as { address: string, path: string }
    expect(path).toBe(join(dir, 'node', 'wallet.json'))
    const drop = await runCli(['wallet', 'airdrop', '2.5sol', ...data, ...rpc()])
    expect(drop.code, drop.stderr).toBe(0)
    expect(drop.stdout).toContain(`${addr} now holds 2.5 SOL`)
    const balance = await runCli(['wallet', 'balance', ...data, ...rpc(), '--json'])
    expect(JSON.parse(balance.stdout)).toMatchObject({ address: addr, lamports: '2500000000' })
  })

  it('answers bad wallets, ledgers and receipt files in one line', async () => {
    const loose = join(dir, 'loose.json')
    await writeFile(loose, JSON.stringify(Array.from({ length: 64 }, () => 1)))
    await chmod(loose, 0o644)
    oneLineError(await runCli(['wallet', 'address', '--wallet', loose]), 1, /readable by other users .*chmod 600/)
    const closed = await closedPort()
    oneLineError(await runCli(['wallet', 'balance', '--data-dir', join(dir, 'node'), '--solana-rpc', `http://127.0.0.1:${closed}`]), 1, new RegExp(`Solana RPC http://127\\.0\\.0\\.1:${closed} failed \\(getBalance\\): connection refused`))
    oneLineError(await runCli(['wallet', 'balance', '--data-dir', join(dir, 'node'), '--solana-rpc', 'http://127.0.0.1:9']), 1, /failed \(getBalance\): bad port/)
    oneLineError(await runCli(['wallet', 'balance', '--data-dir', join(dir, 'node'), '--solana-rpc', 'ftp://x']), 2, /not an http\(s\) URL/)
    oneLineError(await runCli(['receipts', 'verify', join(dir, 'nothing.json')]), 1, /cannot read .*no such file/)
    const garbage = join(dir, 'garbage.json')
    await writeFile(garbage, '{"format":"ionet-p2p/anchored-receipt/1","receipt":"AAAA"}')
    oneLineError(await runCli(['receipts', 'verify', garbage, ...rpc()]), 1, /not an anchored receipt: anchor is missing/)
    oneLineError(await runCli(['ledger', '--data-dir', join(dir, 'chain'), '--port', '0']), 1, /in use|running/)
    oneLineError(await runCli(['ledger', '--port', 'abc']), 2, /--port/)
    const empty = await runCli(['receipts', 'list', '--data-dir', join(dir, 'node')])
    expect(empty.code).toBe(0)
    expect(empty.stdout).toMatch(/no receipts/)
    oneLineError(await runCli(['receipts', 'anchor', '--data-dir', join(dir, 'fresh'), ...rpc()]), 1, /no node has run with data directory/)
  })
})
