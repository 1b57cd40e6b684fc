#!/usr/bin/env bash
# myriad-tune from the outside: good arguments give the expected JSON (read
# with jq), bad ones a one-line error naming the argument and exit status 2.
set -uo pipefail
tune=$1
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }

out=$("$tune" --scenario particles --entities 20k --threads 1,2 --chunk 256,4096 --frames 5 --warmup 1 --format json)
check "json run exits 0" '[ $? -eq 0 ]'
check "valid JSON" 'jq -e . >/dev/null <<<"$out"'
check "one result per system and configuration" \
  '[ "$(jq "[.results[] | select(.run_once | not)] | length" <<<"$out")" -eq 16 ]'
check "results carry chunk, threads, ns and rate" \
  'jq -e "all(.results[]; has(\"chunk\") and has(\"threads\") and has(\"ns_per_entity\") and has(\"entities_per_s\"))" >/dev/null <<<"$out"'
check "both thread counts and chunks" \
  '[ "$(jq -c "[.results[].threads] | unique" <<<"$out")" = "[1,2]" ] && [ "$(jq -c "[.results[].chunk] | unique" <<<"$out")" = "[256,4096]" ]'
check "a best chunk per system and thread count" '[ "$(jq ".best | length" <<<"$out")" -eq 8 ]'
check "four configurations with frame and merge times" \
  '[ "$(jq "[.configurations[] | select(.frame_ms > 0 and .merge_ms >= 0)] | length" <<<"$out")" -eq 4 ]'
check "where the frame goes: merge share and patches per frame (particles respawn every leaver)" \
  'jq -e "all(.configurations[]; .merge_share > 0 and .merge_share < 1 and (.merge_share * .frame_ms - .merge_ms) < 0.001 and (.merge_ms - .merge_share * .frame_ms) < 0.001) and all(.configurations[]; .patches_recorded > 0 and .patches_applied > 0 and .spawned > 0 and .destroyed > 0 and .moved == 0 and .patches_applied <= .patches_recorded)" >/dev/null <<<"$out"'

rep=$("$tune" --entities 5000 --threads 1 --chunk 1024 --frames 3 --repeat 2 --format json)
check "--repeat 2: exit 0 and recorded in the JSON" '[ $? -eq 0 ] && [ "$(jq .repeat <<<"$rep")" -eq 2 ]'

csv=$("$tune" --entities 5000 --threads 1 --chunk 64:256:x2 --frames 2 --format csv)
check "csv: a header and 3 chunks x 5 systems" '[ "$(wc -l <<<"$csv")" -eq 16 ]'
check "csv: best_at_edge last, one value for each system and thread count" \
  'awk -F, "NR == 1 { ok = \$17 == \"best_at_edge\" && NF == 17; next } { if (!(\$17 ~ /^(|smallest|largest)\$/)) ok = 0; k = \$1 \",\" \$2; if (k in e && e[k] != \$17) ok = 0; e[k] = \$17 } END { exit !ok }" <<<"$csv"'
table=$("$tune" --entities 5000 --threads 1 --chunk 1024 --frames 2)
check "table names the best chunk" 'grep -q "best chunk per system" <<<"$table"'
check "help lists the scenarios" 'grep -q particles <<<"$("$tune" --help)"'

# a best chunk at an end of the sizes swept (32,128,512): JSON's best_at_edge
# says so exactly when the best is 32 or 512, and the table has a note under
# exactly those best lines, with a range one x4 step wider on that side
edge=$("$tune" --entities 5000 --threads 1,2 --chunk 32,128,512 --frames 2 --warmup 0 --format json)
check "edge: best_at_edge says where each of the 8 bests lies" \
  'jq -e ".best | length == 8 and all(.[]; .best_at_edge == (if .chunk == 32 then \"smallest\" elif .chunk == 512 then \"largest\" else null end))" >/dev/null <<<"$edge"'
edge_notes() { # a table on stdin: a note under exactly the best lines at an end
  awk '/^best chunk per system/ { on = 1; next }
       !on { next }
       / threads: chunk / { if (want != "") bad++; bests++
                            c = $0; sub(/.* threads: chunk +/, "", c); c = c + 0
                            want = ""
                            if (c == 32) want = "smallest size swept (32): try --chunk 16:512:x4"
                            if (c == 512) want = "largest size swept (512): try --chunk 32:2048:x4"
                            next }
       /^    note: / { if ($0 != "    note: best at the " want || want == "") bad++; want = ""; next }
       END { exit !(bad == 0 && want == "" && bests == 8) }'
}
table_edge=$("$tune" --entities 5000 --threads 1,2 --chunk 32,128,512 --frames 2 --warmup 0)
check "edge: the table's notes under exactly the bests at 32 or 512" 'edge_notes <<<"$table_edge"'

# the trace: 20k rows in chunks of 4096 = 5 chunks for each of the 4 row
# systems, plus the run-once respawn, per frame; 2 stages merged per frame;
# a frame marker per frame on a "frames" track after the 2 workers
trace=$(mktemp)
"$tune" --entities 20k --threads 2 --chunk 4096 --frames 2 --warmup 1 --format csv --trace "$trace" >/dev/null
check "trace run exits 0" '[ $? -eq 0 ]'
check "trace: valid JSON, nothing dropped" 'jq -e ".otherData.dropped_events == 0" "$trace" >/dev/null'
check "trace: 42 chunk events, 2 frames, 4 merges" \
  '[ "$(jq -c "[.traceEvents[] | select(.ph == \"X\") | .cat] | group_by(.) | map(length)" "$trace")" = "[42,2,4]" ]'
check "trace: the frames on track 2, named frames, each around its events" \
  'jq -e "(.traceEvents | map(select(.ph == \"M\" and .tid == 2 and .name == \"thread_name\")) | .[0].args.name == \"frames\") and ([.traceEvents[] | select(.cat == \"frame\")] as \$f | (\$f | length == 2 and all(.[]; .tid == 2 and .name == \"frame \\(.args.frame)\")) and all(.traceEvents[] | select(.ph == \"X\" and .cat != \"frame\"); . as \$e | any(\$f[]; .args.frame == \$e.args.frame and .ts <= \$e.ts and \$e.ts + \$e.dur <= .ts + .dur + 0.002)))" "$trace" >/dev/null'
check "trace: every row system covers 2 x 20000 rows in chunks of <= 4096" \
  'jq -e "[.traceEvents[] | select(.cat == \"chunk\" and .args.rows > 0)] | group_by(.name) | length == 4 and all(.[]; (map(.args.rows) | add) == 40000 and all(.[]; .args.rows <= 4096))" "$trace" >/dev/null'
check "trace: workers are 0 and 1, durations non-negative" \
  'jq -e "all(.traceEvents[] | select(.ph == \"X\" and .cat != \"frame\"); (.tid == 0 or .tid == 1) and .dur >= 0 and .ts >= 0)" "$trace" >/dev/null'
rm -f "$trace"

# the Gantt chart of the last of those frames: 21 chunk bars, 2 merges
gantt=$(mktemp)
"$tune" --entities 20k --threads 2 --chunk 4096 --frames 2 --warmup 1 --format csv --gantt "$gantt" >/dev/null
check "gantt run exits 0" '[ $? -eq 0 ]'
check "gantt: an SVG with both workers' rows" \
  'head -c 4 "$gantt" | grep -q "<svg" && grep -q ">worker 1<" "$gantt" && tail -1 "$gantt" | grep -q "</svg>"'
check "gantt: one bar per chunk of the frame, one per merge" \
  '[ "$(grep -c "<title>[a-z]* chunk" "$gantt")" -eq 21 ] && [ "$(grep -c "<title>stage . merge" "$gantt")" -eq 2 ]'
rm -f "$gantt"

# the plot: 4 row systems x 2 thread counts = 8 lines of 3 chunk sizes each
plot=$(mktemp)
"$tune" --entities 5000 --threads 1,2 --chunk 256:1024:x2 --frames 2 --format csv --plot "$plot" >/dev/null
check "plot run exits 0" '[ $? -eq 0 ]'
check "plot: an SVG with a panel per row system" \
  'head -c 4 "$plot" | grep -q "<svg" && [ "$(grep -c "font-weight=\"bold\">\(gravity\|drag\|integrate\|bounds\)<" "$plot")" -eq 4 ]'
check "plot: 8 lines, 24 points" \
  '[ "$(grep -c "<polyline" "$plot")" -eq 8 ] && [ "$(grep -c "<circle" "$plot")" -eq 24 ]'
rm -f "$plot"

# --kernels: the same world either way, so the same systems and entities
sc=$("$tune" --entities 5000 --threads 1 --chunk 1024 --frames 2 --kernels scalar --format json)
check "--kernels scalar is said in the JSON" '[ "$(jq -r .kernels <<<"$sc")" = scalar ] && [ "$(jq ".results | length" <<<"$sc")" -eq 5 ]'

# --chunk auto: the library's autotuning settles each row system, beside
# the sweep 64:65536:x2 it is compared with
auto=$("$tune" --entities 20k --threads 2 --chunk auto --frames 3 --warmup 1 --format json)
check "auto run exits 0 with valid JSON" '[ $? -eq 0 ] && jq -e . >/dev/null <<<"$auto"'
check "auto: one autotuned configuration and 11 swept" \
  '[ "$(jq "[.configurations[] | select(.mode == \"auto\")] | length" <<<"$auto")" -eq 1 ] && [ "$(jq "[.configurations[] | select(.mode == \"sweep\")] | length" <<<"$auto")" -eq 11 ]'
check "auto: a frame ratio per thread count" 'jq -e ".autotune_frames | length == 1 and .[0].ratio > 0" >/dev/null <<<"$auto"'
check "auto: each row system settled on a size in 64..65536 within 50 frames, with its ratio to the sweep" \
  'jq -e ".autotune | length == 4 and all(.[]; .chunk >= 64 and .chunk <= 65536 and .settle_frames >= 3 and .settle_frames <= 50 and .ratio > 0 and .sweep_best_chunk >= 64)" >/dev/null <<<"$auto"'

# tuning files: written from a sweep's best, read back by --tuning and by
# MYRIAD_TUNING, with the same sizes
tf=$(mktemp)
best=$("$tune" --entities 20k --threads 2 --chunk 256,4096 --frames 3 --warmup 1 --format json --write-tuning "$tf" |
       jq -c "[.best[] | {system, chunk}] | sort_by(.system)")
check "write-tuning: a header and one line per row system" \
  'grep -qx "@format 1" "$tf" && grep -qx "@scenario particles" "$tf" && grep -qx "@entities 20000" "$tf" && grep -qx "@threads 2" "$tf" && grep -q "^@machine .* cpus; " "$tf" && [ "$(grep -c "^[a-z]* = [0-9]*$" "$tf")" -eq 4 ]'
check "write-tuning: the file holds the best chunks" \
  '[ "$(grep "^[a-z]* = " "$tf" | jq -R -s -c "split(\"\n\") | map(select(length > 0) | split(\" = \") | {system: .[0], chunk: (.[1] | tonumber)}) | sort_by(.system)")" = "$best" ]'
from_file=$("$tune" --entities 20k --threads 2 --frames 2 --warmup 0 --format json --tuning "$tf" |
            jq -c "[.results[] | select(.run_once | not) | {system, chunk}] | sort_by(.system)")
check "--tuning runs with the file's sizes" '[ "$from_file" = "$best" ]'
from_env=$(MYRIAD_TUNING="$tf" "$tune" --entities 20k --threads 2 --frames 2 --warmup 0 --format json |
           jq -c "[.results[] | select(.run_once | not) | {system, chunk}] | sort_by(.system)")
check "MYRIAD_TUNING runs with the file's sizes" '[ "$from_env" = "$best" ]'
printf '@format 1\ngravity = lots\n' >"$tf"
err=$(MYRIAD_TUNING="$tf" "$tune" --entities 5000 --frames 1 2>&1 >/dev/null)
check "a corrupt MYRIAD_TUNING file -> exit 2 naming it" '[ $? -eq 2 ] && grep -q "MYRIAD_TUNING: .*:2: \"gravity\": rows must be a number" <<<"$err"'

bad() { # args... : exit 2 and one line on stderr that names the option
  local err rc name=$1
  err=$("$tune" "$@" 2>&1 >/dev/null)
  rc=$?
  check "bad $* -> exit 2 (got $rc)" '[ $rc -eq 2 ]'
  check "bad $* -> one line naming $name" '[ "$(wc -l <<<"$err")" -eq 1 ] && grep -q -- "$name" <<<"$err"'
}
bad --scenario nope
bad --entities 0
bad --entities 10G
bad --entities 200M
bad --threads 1,,2
bad --threads 0
bad --chunk 64:16:x2
bad --chunk 64:256:y2
bad --chunk abc
bad --frames -3
bad --format xml
bad --repeat 0
bad --repeat 1000 --frames 100000
bad --bogus
bad --trace /nonexistent-dir/trace.json
bad --gantt /nonexistent-dir/frame.svg
bad --plot /nonexistent-dir/plot.svg
bad --kernels avx
bad --write-tuning /nonexistent-dir/x.tuning
bad --tuning "$tf"
bad --tuning /nonexistent-dir/x.tuning
bad --tuning "$tf" --chunk 64
bad --chunk auto --tuning "$tf"
rm -f "$tf"
echo "tune_cli: $fails failures"
[ "$fails" -eq 0 ]
