#!/usr/bin/env bash
# The main job: installs what is missing, builds the release preset and runs
# myriad-tune with its defaults (the particles scenario, 1,000,000 entities,
# all CPUs, a sweep of chunk sizes; a per-system table). Arguments go to
# myriad-tune (see myriad-tune --help). The examples are
# build/release/examples/{hello,sim,boids}.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target myriad-tune hello sim boids >/dev/null
exec build/release/tools/myriad-tune "$@"
