/**
 * The ionet-p2p command line. Every command has --help; every failure is one line on stderr
 * (or a JSON object with --json) and a non-zero exit code.
 */
import { Command, CommanderError } from 'commander'
import { AGENT } from '../node/ionet-node.js'
import { clusterCommand } from './commands/cluster.js'
import { demoCommand } from './commands/demo.js'
import { ledgerCommand } from './commands/ledger.js'
import { marketCommand } from './commands/market.js'
import { receiptsCommands } from './commands/receipts.js'
import { simCommand } from './commands/sim.js'
import { walletCommands } from './commands/wallet.js'
import { startCommand } from './commands/start.js'
import { peersCommand, statusCommand } from './commands/status.js'
import { submitCommand } from './commands/submit.js'
import { ExitCode, reportError } from './errors.js'
import { releaseYoungGeneration } from './young-generation.js'

export function buildProgram (): Command {
  const program = new Command('ionet-p2p')
    .description('A peer-to-peer GPU compute market: sell idle GPUs, rent compute, no central server.')
    .version(AGENT.split('/')[1] as string, '-v, --version')
    .showSuggestionAfterError(true)
    .configureOutput({ outputError: (text, write) => { write(`ionet-p2p: ${text.replace(/^error: /, '').trimEnd()}\n`) } })
    .exitOverride()
    // Loading is over. The daemon keeps its young generation small for good (young-generation.ts).
    .hook('preAction', (_program, action) => { if (action.name() !== 'start') releaseYoungGeneration() })
  for (const cmd of [startCommand(), submitCommand(), clusterCommand(), marketCommand(), peersCommand(), statusCommand(), walletCommands(), receiptsCommands(), ledgerCommand(), simCommand(), demoCommand()]) {
    configure(cmd, `ionet-p2p ${cmd.name()}`)
    program.addCommand(cmd)
  }
  return program
}

/** Usage errors as one line naming the command, for subcommands (wallet address, …) too. */
function configure (cmd: Command, name: string): void {
  cmd.exitOverride().configureOutput({ outputError: (text, write) => { write(`${name}: ${text.replace(/^error: /, '').trimEnd()}\n`) } })
  for (const sub of cmd.commands) configure(sub, `${name} ${sub.name()}`)
}

export async function main (argv: string[]): Promise<number> {
  const program = buildProgram()
  const json = argv.includes('--json')
  try {
    await program.parseAsync(argv)
    return ExitCode.OK
  } catch (err) {
    // Help and version exit 0; usage errors were already printed by commander, in one line.
    if (err instanceof CommanderError) return err.exitCode === 0 ? ExitCode.OK : ExitCode.USAGE
    return reportError(err, json)
  }
}
