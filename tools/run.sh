#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset and runs
# the built-in simulation. Until myriad-tune lands this is examples/hello;
# arguments are passed on to it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target hello >/dev/null
exec build/release/examples/hello "$@"
