/**
 * One container engine for the whole test run: where none answers on the usual sockets, a Podman
 * service started here (executors/container/podman-service.ts) and stopped when the run ends.
 * Its socket reaches the test files through the environment, which their forks inherit; a
 * service started by each file instead outlived the run whenever vitest ended its fork.
 */
import { findContainerEngine } from '../src/executors/container/engine.js'
import { startPodmanService } from '../src/executors/container/podman-service.js'

export const TEST_ENGINE_SOCKET_ENV = 'IONET_TEST_ENGINE_SOCKET'

export default async function setup (): Promise<(() => Promise<void>) | undefined> {
  const usual = await findContainerEngine({ timeoutMs: 10_000 })
  if (!('unavailable' in usual)) return undefined
  const service = await startPodmanService({ name: 'tests' })
  if (service === undefined) return undefined
  process.env[TEST_ENGINE_SOCKET_ENV] = service.socketPath
  return async () => { await service.stop() }
}
