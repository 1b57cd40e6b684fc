#!/usr/bin/env bash
# The JavaScript decoder (web/stream.js, under Node) against a stream the C
# encoder recorded: every scenario, a keyframe then deltas with baselines
# lost, and the same view hash as the C decoder's after every message.
# Usage: decode.sh STREAM_RECORD SOURCE_DIR
set -euo pipefail
record=$1 src=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
for scenario in particles boids ecsbench ecsbench2; do
  "$record" "$scenario" 3000 100 "$dir/$scenario.rec" "$dir/$scenario.hashes"
  node "$src/web/test/decode.test.mjs" "$dir/$scenario.rec" "$dir/$scenario.hashes"
done
