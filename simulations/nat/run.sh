#!/usr/bin/env bash
# The NAT testbed: real Linux NAT routers in network namespaces, real `ionet-p2p` processes
# behind them. Builds the topology (topology.sh), runs one scenario, collects the evidence, and
# always tears everything down (trap on exit). Needs root, iproute2 and nftables.
#
#   simulations/nat/run.sh cone      [--delay MS] [--out DIR]
#   simulations/nat/run.sh symmetric [--delay MS] [--out DIR]
#
# cone:      router B does plain masquerade. A renter behind B submits a job with an 8 MiB
#            input to a provider behind router A. Expected: discovered through the DHT, hole
#            punched (WebRTC), payload direct, output checked, the relay carried little.
# symmetric: router B picks a random source port per destination. Expected: hole punching
#            fails within the bounded wait; the same 8 MiB job is refused with a clear reason
#            (the relay allows 128 KiB per connection); a 4 KiB job runs through the relay.
#
# The provider runs with --upnp: the routers speak no UPnP, so its search finds no gateway and it
# stays behind NAT (the opt-in path runs, inside the testbed, and changes nothing).
#
# Writes DIR/summary.json (see evidence.mjs) and prints a verdict; exit 0 only when every
# expectation held.
set -euo pipefail

VARIANT=${1:-cone}
shift || true
DELAY=0
OUT=""
while [ $# -gt 0 ]; do
  case "$1" in
    --delay) DELAY=$2; shift 2 ;;
    --out) OUT=$2; shift 2 ;;
    *) echo "run.sh: unknown argument $1 (usage: run.sh cone|symmetric [--delay MS] [--out DIR])" >&2; exit 2 ;;
  esac
done
case "$VARIANT" in cone|symmetric) ;; *) echo "run.sh: variant must be cone or symmetric, not $VARIANT" >&2; exit 2 ;; esac
case "$DELAY" in ''|*[!0-9]*) echo "run.sh: --delay takes whole milliseconds" >&2; exit 2 ;; esac
if [ "$(id -u)" != 0 ]; then echo "run.sh: needs root (network namespaces and nftables)" >&2; exit 2; fi
for tool in ip nft tc; do command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install iproute2 nftables)" >&2; exit 2; }; done

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CLI="$ROOT/packages/node/bin/ionet-p2p.js"
# The Node that `npm run setup` installed (libp2p v3 needs >= 22), unless IONET_NODE names
# another. Not $NODE: npm sets that to the Node running npm itself (20 on our machines).
NODE=${IONET_NODE:-$ROOT/node_modules/.bin/node}
[ -x "$NODE" ] || NODE=node
NODE_MAJOR=$("$NODE" -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$NODE_MAJOR" -lt 22 ]; then echo "run.sh: needs Node 22 or newer (found $("$NODE" --version 2>/dev/null || echo none) at $NODE); run npm run setup" >&2; exit 2; fi
[ -f "$ROOT/packages/node/dist/index.js" ] || { echo "run.sh: build first (npx tsc -b)" >&2; exit 2; }
OUT=${OUT:-$(mktemp -d /tmp/ionet-nat.XXXXXX)}
mkdir -p "$OUT"

# One prefix per run: parallel runs and leftovers of a killed run never collide.
NAT_PREFIX=${NAT_PREFIX:-ionat$$}
# shellcheck source=topology.sh
. "$HERE/topology.sh"

PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  sleep 0.3
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; done
  topology_down
}
trap cleanup EXIT
# exit runs the EXIT trap: a killed run tears down too.
trap 'exit 143' TERM
trap 'exit 130' INT

log() { printf '[nat %s %s] %s\n' "$VARIANT" "$(date +%T)" "$*"; }

# wait_for FILE PATTERN SECONDS: bounded wait for a line in a node's NDJSON output.
wait_for() {
  local file=$1 pattern=$2 secs=$3 i
  for ((i = 0; i < secs * 10; i++)); do
    if grep -q "$pattern" "$file" 2>/dev/null; then return 0; fi
    sleep 0.1
  done
  echo "run.sh: timed out after ${secs}s waiting for $pattern in $file; its last output: $(tail -c 600 "${file%.ndjson}.err" 2>/dev/null | tr '\n' ' ')" >&2
  return 1
}

# Each node keeps its data under OUT; the wallet and ledger are local files (payments are not
# part of this test: the ledger URL points at loopback inside the node's own namespace).
COMMON=(--no-mdns --json --solana-rpc http://127.0.0.1:8899)

if [ "$DELAY" -gt 0 ] && ! netem_available; then
  echo "run.sh: --delay needs tc netem, and this kernel has no sch_netem (uname -r: $(uname -r))" >&2
  exit 2
fi

log "building topology (router B: $VARIANT, delay ${DELAY} ms)"
topology_up "$VARIANT" "$DELAY"

log "relay/bootstrap node on the internet segment ($RELAY_IP)"
nat_ns "$NS_INET" "$NODE" "$CLI" start --data-dir "$OUT/relay" --listen /ip4/0.0.0.0/tcp/4001 --no-provide --anchor-interval 0 "${COMMON[@]}" >"$OUT/relay.ndjson" 2>"$OUT/relay.err" &
PIDS+=($!)
wait_for "$OUT/relay.ndjson" '"node:started"' 30
RELAY_ID=$(grep -m1 '"node:started"' "$OUT/relay.ndjson" | sed -E 's/.*"peerId":"([^"]+)".*/\1/')
BOOTSTRAP="/ip4/$RELAY_IP/tcp/4001/p2p/$RELAY_ID"

log "provider behind router A ($PROVIDER_IP)"
nat_ns "$NS_A" "$NODE" "$CLI" start --data-dir "$OUT/provider" --listen /ip4/0.0.0.0/tcp/4001 --bootstrap "$BOOTSTRAP" \
  --no-detect-gpus --allow-process --anchor-interval 0 --upnp "${COMMON[@]}" >"$OUT/provider.ndjson" 2>"$OUT/provider.err" &
PIDS+=($!)
wait_for "$OUT/provider.ndjson" '"type":"reachability"' 40
wait_for "$OUT/provider.ndjson" '"capability:published"' 40

status() { # status NAME NS FILE: the node's own report, through its control socket
  "$NODE" "$CLI" status --data-dir "$OUT/$1" --json >"$OUT/$3" 2>>"$OUT/$1.err"
}

# submit NAME SIZE_BYTES: one job from a fresh renter process behind router B.
submit() {
  local name=$1 size=$2
  head -c "$size" /dev/urandom >"$OUT/$name.input"
  status relay "$NS_INET" "$name.relay-before.json"
  local started=$(date +%s%N)
  set +e
  timeout 120 ip netns exec "$NS_B" "$NODE" "$CLI" submit --data-dir "$OUT/renter-$name" --bootstrap "$BOOTSTRAP" --gpu cpu --gpus 1 \
    --timeout 60 --input "payload=$OUT/$name.input" --out "$OUT/$name.out" "${COMMON[@]}" \
    -- sh -c 'sha256sum in/payload | cut -d" " -f1 > out/sha256.txt' >"$OUT/$name.ndjson" 2>"$OUT/$name.err"
  local rc=$?
  set -e
  local ended=$(date +%s%N)
  status relay "$NS_INET" "$name.relay-after.json"
  sha256sum "$OUT/$name.input" | cut -d' ' -f1 >"$OUT/$name.expected-sha256"
  printf '{"rc":%d,"startedAtMs":%d,"wallMs":%d,"inputBytes":%d}\n' "$rc" $((started / 1000000)) $(((ended - started) / 1000000)) "$size" >"$OUT/$name.run.json"
  log "job $name ($size bytes): exit $rc in $(((ended - started) / 1000000)) ms"
}

if [ "$VARIANT" = cone ]; then
  submit big $((8 * 1024 * 1024))
else
  submit big $((8 * 1024 * 1024))
  submit small 4096
fi
status provider "$NS_A" provider-status.json

"$NODE" "$HERE/evidence.mjs" "$VARIANT" "$OUT"
