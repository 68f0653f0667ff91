/**
 * `ionet-p2p ledger`: the embedded Solana ledger as a local JSON-RPC endpoint, its state kept in
 * the data directory. Point any Solana client (or `--solana-rpc`) at the printed URL.
 */
import { Command, Option } from 'commander'
import { dataDirLayout, defaultDataDir } from '../../node/data-dir.js'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { parseCount } from '../parse.js'

/** The port a Solana test validator serves JSON-RPC on. */
export const DEFAULT_LEDGER_PORT = 8899

interface LedgerFlags { dataDir: string, port: number, host: string, json: boolean }

export function ledgerCommand (): Command {
  return new Command('ledger')
    .summary('run the embedded Solana ledger (a local JSON-RPC endpoint backed by LiteSVM)')
    .addOption(new Option('--data-dir <dir>', 'where the ledger\'s state is kept (in <dir>/ledger)').default(defaultDataDir()).env('IONET_DATA_DIR'))
    .addOption(new Option('--port <port>', 'TCP port for JSON-RPC').default(DEFAULT_LEDGER_PORT).argParser(v => parseCount('--port', v, 0, 65535)))
    .addOption(new Option('--host <address>', 'address to listen on').default('127.0.0.1'))
    .addOption(new Option('--json', 'machine-readable output (NDJSON)').default(false))
    .action(async (flags: LedgerFlags) => {
      const dir = dataDirLayout(flags.dataDir).ledger
      // LiteSVM loads with this command only: the CLI's other commands start without it.
      const [{ EmbeddedLedger }, { serveLedger }] = await Promise.all([import('../../ledger/embedded-ledger.js'), import('../../ledger/rpc-server.js')])
      const ledger = await EmbeddedLedger.open(dir)
      const server = await serveLedger(ledger, flags.port, flags.host).catch(async (err: NodeJS.ErrnoException) => {
        await ledger.close()
        throw new IonetError(IonetErrorCode.INVALID_ARGUMENT, `cannot listen on ${flags.host}:${flags.port}: ${err.code === 'EADDRINUSE' ? 'the port is in use (another ledger or validator?); pass --port' : err.message}`)
      })
      if (flags.json) process.stdout.write(JSON.stringify({ type: 'ledger:started', url: server.url, dir, slot: ledger.slot }) + '\n')
      else process.stdout.write(`Solana JSON-RPC (embedded ledger) at ${server.url}\nstate in ${dir}; Ctrl-C stops it, nothing is lost\n`)
      await new Promise<void>(resolve => {
        const onSignal = (): void => { void server.close().then(resolve, resolve) }
        process.once('SIGINT', onSignal)
        process.once('SIGTERM', onSignal)
      })
    })
}
