/**
 * `ionet-p2p wallet address|balance|airdrop`: the Solana wallet this node pays from (as a renter)
 * and is paid to (as a provider). The wallet file is the Solana CLI's format, so `solana` and
 * any wallet that imports keypair files can use it too.
 */
import { Command } from 'commander'
import { formatSol } from '@ionet-p2p/protocol'
import type { Signature } from '@solana/kit'
import { IonetError, IonetErrorCode } from '../../errors.js'
import { LedgerClient } from '../../solana/ledger-client.js'
import { loadOrCreateWallet } from '../../wallet/wallet.js'
import type { Wallet } from '../../wallet/wallet.js'
import { dataDirCommand, walletPath } from '../common.js'
import { parseLamports } from '../parse.js'

interface WalletFlags { dataDir: string, wallet?: string, solanaRpc: string, json: boolean }

function walletCommand (name: string, summary: string): Command {
  return dataDirCommand(name, summary, 'data directory (its wallet.json is the default wallet)')
}

async function open (flags: WalletFlags): Promise<Wallet> {
  const wallet = await loadOrCreateWallet(walletPath(flags))
  if (wallet.created && !flags.json) process.stderr.write(`› created wallet ${wallet.path} (mode 0600; back it up: it holds your funds)\n`)
  return wallet
}

function print (flags: WalletFlags, json: Record<string, unknown>, text: string): void {
  process.stdout.write(flags.json ? JSON.stringify(json) + '\n' : text + '\n')
}

export function walletCommands (): Command {
  const wallet = new Command('wallet').summary('the Solana wallet this node pays from and is paid to')
  wallet.addCommand(walletCommand('address', 'print the wallet\'s address').action(async (flags: WalletFlags) => {
    const w = await open(flags)
    print(flags, { address: w.address, path: w.path }, w.address)
  }))
  wallet.addCommand(walletCommand('balance', 'print the wallet\'s balance on the ledger').action(async (flags: WalletFlags) => {
    const w = await open(flags)
    const lamports = await new LedgerClient(flags.solanaRpc).balance(w.address)
    print(flags, { address: w.address, lamports: lamports.toString(), ledger: flags.solanaRpc }, `${formatSol(lamports)} (${lamports} lamports) in ${w.address}`)
  }))
  wallet.addCommand(walletCommand('airdrop', 'ask the ledger for free SOL (the embedded ledger, local validators and devnet give it; mainnet does not)')
    .argument('[amount]', 'lamports, or e.g. 2sol', '1sol')
    .action(async (amount: string, flags: WalletFlags) => {
      const lamports = parseLamports('amount', amount)
      const w = await open(flags)
      const ledger = new LedgerClient(flags.solanaRpc)
      let signature: Signature
      try {
        signature = await ledger.requestAirdrop(w.address, lamports)
      } catch (err) {
        throw new IonetError(IonetErrorCode.LEDGER_REJECTED, `the ledger at ${flags.solanaRpc} gave no airdrop (${(err as Error).message.replace(/^Solana RPC \S+ failed \(requestAirdrop\): /, '')}); fund ${w.address} another way`)
      }
      const { lastValidBlockHeight } = await ledger.latestBlockhash()
      const landed = await ledger.awaitLanding([signature], lastValidBlockHeight, { timeoutMs: 60_000 })
      if (typeof landed !== 'object' || landed.err != null) throw new IonetError(IonetErrorCode.LEDGER_REJECTED, `airdrop ${signature} did not land (${typeof landed === 'string' ? landed : 'failed'})`)
      const balance = await ledger.balance(w.address)
      print(flags, { address: w.address, signature, lamports: lamports.toString(), balance: balance.toString() }, `received ${formatSol(lamports)}; ${w.address} now holds ${formatSol(balance)}`)
    }))
  return wallet
}
