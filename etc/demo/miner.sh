#!/bin/sh
# chainkeeper demo miner: mine 1 regtest block on node A every MINE_INTERVAL
# seconds and print the heights of A and B.  Exits non-zero on any error so
# that chainkeeperd restarts it.  Environment (set by chainkeeper.yaml):
#   A_DATADIR A_RPCPORT B_DATADIR B_RPCPORT  node data dirs and RPC ports
#   LITECOIN_CLI (default litecoin-cli)  MINE_INTERVAL (default 5)
#   MINER_WAIT   seconds to wait for node A's RPC (default 60)
#   MINER_ADDRESS  payout address (default: P2WSH of OP_TRUE, no wallet needed)
set -u

: "${A_DATADIR:?}" "${A_RPCPORT:?}" "${B_DATADIR:?}" "${B_RPCPORT:?}"
cli=${LITECOIN_CLI:-litecoin-cli}
interval=${MINE_INTERVAL:-5}
wait=${MINER_WAIT:-60}
addr=${MINER_ADDRESS:-rltc1qft5p2uhsdcdc3l2ua4ap5qqfg4pjaqlp250x7us7a8qqhrxrxfsqc6h8ge}

a() { "$cli" -regtest -datadir="$A_DATADIR" -rpcport="$A_RPCPORT" "$@"; }
b() { "$cli" -regtest -datadir="$B_DATADIR" -rpcport="$B_RPCPORT" "$@"; }
die() { echo "miner: $*" >&2; exit 1; }

# Node A answers RPC only after it has loaded its block index.
n=0
until a getblockchaininfo >/dev/null 2>&1; do
    n=$((n + 1))
    [ "$n" -lt "$wait" ] || die "node A RPC (port $A_RPCPORT) not ready after ${wait}s"
    sleep 1
done
echo "miner: node A is up at height $(a getblockcount), mining every ${interval}s"

while :; do
    hash=$(a generatetoaddress 1 "$addr" | tr -dc '0-9a-f')
    [ ${#hash} -eq 64 ] || die "generatetoaddress failed"
    sleep "$interval"
    ha=$(a getblockcount) || die "node A RPC failed"
    hb=$(b getblockcount 2>/dev/null) || hb=down
    echo "block $(printf %.16s "$hash")... height A=$ha B=$hb"
done
