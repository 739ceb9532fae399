#!/bin/sh
# Quick start: install what is missing, build, and run chainkeeperd in the
# foreground supervising two litecoind -regtest nodes and a miner.
# Ctrl-C stops everything in order.  Data lives under $CK_DEMO_DIR
# (default: a new folder in /tmp), kept for a look afterwards.
set -eu
cd -- "$(dirname -- "$0")"
. ./bootstrap.sh
ck_install
ck_build

dir=${CK_DEMO_DIR:-$(mktemp -d /tmp/chainkeeper-demo.XXXXXX)}
sh etc/demo/run-demo-config.sh "$dir"
cat <<MSG

chainkeeper demo in $dir
In another terminal:
  ./chainkeeperctl -s $dir/chainkeeper.sock status
  ./chainkeeperctl -s $dir/chainkeeper.sock tail -f miner
  ./chainkeeperctl -s $dir/chainkeeper.sock stop litecoind-b
  ./chainkeeperctl -s $dir/chainkeeper.sock start litecoind-b
Ctrl-C here stops the miner, then both nodes, and exits.

MSG
exec ./chainkeeperd -c "$dir/chainkeeper.yaml"
