#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset and runs
# the built-in examples until myriad-tune lands: examples/hello (a world and a
# query), then examples/sim (a particle fountain on the schedule, run on one
# thread and on every CPU, which must end in the same world), then
# examples/boids (100k prey and 64 predators, the same check). Arguments go to
# sim: sim [frames].
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target hello sim boids >/dev/null
build/release/examples/hello
echo
build/release/examples/sim "$@"
echo
exec build/release/examples/boids
