#!/usr/bin/env bash
# myriad-tune's JSON writer fed a system and a scenario named with quotes, a
# backslash and control characters (tests/test_tune_writers.c): the JSON
# must be valid and give the names back byte for byte, and best_at_edge
# must say where each best lies.
set -uo pipefail
prog=$1
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

"$prog" "$dir"
check "the writers' own checks pass" '[ $? -eq 0 ]'
for run in sweep auto; do
  json=$dir/$run.json
  check "$run: valid JSON" 'jq -e . "$json" >/dev/null'
  check "$run: the scenario's name round-trips" 'jq -j .scenario "$json" | cmp -s - "$dir/name.raw"'
  check "$run: every place the system is named gives it back" \
    '[ "$(jq "[.results[], .best[], (.autotune // [])[] | .system | select(startswith(\"say \"))] | length" "$json")" -eq "$([ $run = auto ] && echo 5 || echo 4)" ] &&
     jq -j "[.results[], .best[], (.autotune // [])[] | .system | select(startswith(\"say \"))] | unique | .[0]" "$json" | cmp -s - "$dir/name.raw"'
done
sweep=$dir/sweep.json
check "sweep: best_at_edge largest, null, smallest" \
  '[ "$(jq -c "[.best[] | .best_at_edge]" "$sweep")" = "[\"largest\",null,\"smallest\"]" ]'
check "auto: two sizes swept: every best at an end" \
  '[ "$(jq -c "[.best[] | .best_at_edge]" "$dir/auto.json")" = "[\"largest\",\"smallest\",\"smallest\"]" ]'
echo "tune_writers: $fails failures"
[ "$fails" -eq 0 ]
