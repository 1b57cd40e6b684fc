#!/usr/bin/env bash
# query.h promises that the obvious loop over six float columns, written with
# the typed accessors and MYR_FOR_ROWS, vectorizes at -O3: compile one and
# read the compiler's own report.   vectorize_check.sh CC INCLUDE_DIR
set -euo pipefail
cc=$1 inc=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/move.c" <<'C'
#include "myriad/myriad.h"
void move(const myr_chunk *c, float dt) {
  float *px = myr_chunk_f32(c, 0, 0), *py = myr_chunk_f32(c, 0, 1), *pz = myr_chunk_f32(c, 0, 2);
  const float *vx = myr_chunk_f32(c, 1, 0), *vy = myr_chunk_f32(c, 1, 1), *vz = myr_chunk_f32(c, 1, 2);
  MYR_FOR_ROWS(i, c) {
    px[i] += vx[i] * dt;
    py[i] += vy[i] * dt;
    pz[i] += vz[i] * dt;
  }
}
C
report=$("$cc" -std=c11 -O3 -DNDEBUG -ffp-contract=off -Wall -Wextra -Wpedantic -Werror \
  -fopt-info-vec-optimized -I"$inc" -c "$dir/move.c" -o "$dir/move.o" 2>&1)
echo "$report"
grep -q "move.c:5.*loop vectorized" <<<"$report" || { echo "the MYR_FOR_ROWS loop did not vectorize" >&2; exit 1; }
