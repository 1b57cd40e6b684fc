#!/usr/bin/env bash
# myriad-tune-mpi from the outside (under mpirun --oversubscribe, on small
# worlds, a minute or two in all):
# - world_content after the last frame is myriad-tune --hash's for 1..4
#   ranks x 1..2 threads, particles and boids, at several frame counts;
# - a checkpoint written on 3 ranks restarts on 1, 2 and 4 and continues
#   with the uninterrupted run's hash; a checkpoint every N frames leaves
#   one manifest and the files it names;
# - a rank killed mid-run: mpirun stops the others within seconds;
# - bad input (a missing rank file, a damaged manifest, a manifest of
#   another scenario, absurd flags) exits 2 with one line, printed once.
# Usage: mpi_cli.sh MYRIAD_TUNE MYRIAD_TUNE_MPI (MPIEXEC: mpirun's path).
set -uo pipefail
tune=$1
mpi=$2
mpirun=${MPIEXEC:-mpirun}
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
run() { "$mpirun" --oversubscribe -n "$@"; }

# world_content of one process, and of R ranks
one() { "$tune" --format csv --warmup 0 --hash --chunk 512 "$@" 2>&1 >/dev/null | grep '^world_content='; }
many() {
  local r=$1
  shift
  run "$r" "$mpi" --format csv --warmup 0 --hash "$@" 2>"$dir/err" >"$dir/out"
  local rc=$?
  [ $rc -eq 0 ] || echo "exit $rc: $(head -3 "$dir/err")"
  grep '^world_content=' "$dir/err"
}

# --- the same result for any rank and thread count --------------------------
for s in particles:4000 boids:2000; do
  name=${s%%:*} n=${s##*:}
  for frames in 1 12 40; do
    want=$(one --scenario "$name" --entities "$n" --threads 1 --frames $frames)
    check "$name: myriad-tune prints world_content" '[[ $want =~ ^world_content=[0-9a-f]{16}$ ]]'
    for r in 1 2 3 4; do
      for t in 1 2; do
        got=$(many $r --scenario "$name" --entities "$n" --threads $t --chunk 256 --frames $frames)
        check "$name, $frames frames, $r ranks x $t threads: '$got', one process '$want'" '[ "$got" = "$want" ]'
      done
    done
  done
done
# rebalancing every frame, and never: the same
want=$(one --scenario boids --entities 1500 --threads 1 --frames 25)
for k in 1 0; do
  got=$(many 3 --scenario boids --entities 1500 --threads 1 --frames 25 --rebalance $k)
  check "boids, --rebalance $k: '$got', one process '$want'" '[ "$got" = "$want" ]'
done
# only rank 0 prints it
check "one world_content line from 4 ranks" '[ "$(grep -c "^world_content=" "$dir/err")" -eq 1 ]'

# --- the report -------------------------------------------------------------
run 2 "$mpi" --scenario boids --entities 2000 --threads 1 --frames 5 --format json >"$dir/j" 2>"$dir/e"
check "--format json: one configuration, a row per rank with the figures" \
  '[ "$(jq ".configurations | length" "$dir/j")" = 1 ] && [ "$(jq ".configurations[0].per_rank | length" "$dir/j")" = 2 ] &&
   [ "$(jq "[.configurations[0].per_rank[].owned] | add" "$dir/j")" -gt 1900 ] &&
   jq -e ".configurations[0].per_rank[0] | has(\"ghosts\") and has(\"migrations\") and has(\"bytes_sent\") and has(\"comm_share\")" "$dir/j" >/dev/null'
run 2 "$mpi" --scenario particles --entities 3000 --threads 1 --frames 3 >"$dir/t" 2>"$dir/e"
check "the table names the ranks' figures" 'grep -q "comm share" "$dir/t" && grep -q "^ *1 " "$dir/t"'

# --- checkpoints, restarted on other rank counts ------------------------------
ck=$dir/run.ckpt
want=$(one --scenario boids --entities 2000 --threads 1 --frames 30)
got=$(many 3 --scenario boids --entities 2000 --threads 2 --frames 20 --checkpoint "$ck" --checkpoint-every 10)
check "the checkpointed run is the run" '[ "$got" = "$(one --scenario boids --entities 2000 --threads 1 --frames 20)" ]'
check "one manifest and the 3 files of frame 20 remain (frame 10's are gone)" \
  '[ "$(ls "$dir" | grep -c "^run.ckpt")" -eq 4 ] && ls "$ck".r2of3.f20.*.snap >/dev/null && ! ls "$ck".r0of3.f10.* 2>/dev/null'
for r in 1 2 4; do
  got=$(many $r --restore "$ck" --threads 1 --frames 10)
  check "restored on $r ranks, 10 frames more: '$got', uninterrupted '$want'" '[ "$got" = "$want" ]'
done
# restored and checkpointed again into the same manifest, on 2 ranks: the
# 3 ranks' files go, the 2 new ones stay; a third run continues from them
many 2 --restore "$ck" --threads 1 --frames 4 --checkpoint "$ck" --checkpoint-every 2 >/dev/null
check "the checkpoint of another run: its files go once the manifest is replaced" \
  '[ "$(ls "$dir" | grep -c "^run.ckpt")" -eq 3 ] && ls "$ck".r1of2.f24.*.snap >/dev/null'
got=$(many 4 --restore "$ck" --threads 1 --frames 6)
check "restored twice, 30 frames in all: '$got', uninterrupted '$want'" '[ "$got" = "$want" ]'
# a manifest in a folder with a space in its name
mkdir -p "$dir/a b"
many 2 --scenario boids --entities 1000 --threads 1 --frames 3 --save "$dir/a b/my ck" >/dev/null
got=$(many 3 --restore "$dir/a b/my ck" --threads 1 --frames 2)
check "a manifest named with spaces restores: '$got'" '[ "$got" = "$(one --scenario boids --entities 1000 --threads 1 --frames 5)" ]'
# --restore and --save of one file over several configurations: each
# starts from the file as it was, the last one saves
cp -r "$dir/a b" "$dir/ab2"
many 2 --restore "$dir/ab2/my ck" --threads 1,2 --frames 2 --save "$dir/ab2/my ck" >/dev/null
check "two configurations from one --restore file, the same world" \
  '[ "$(sort -u <<<"$(grep ^world_content= "$dir/err")" | wc -l)" -eq 1 ] && [ "$(grep -c ^world_content= "$dir/err")" -eq 2 ]'

# particles too, saved at the end on 2 ranks, continued on 3
want=$(one --scenario particles --entities 3000 --threads 1 --frames 14)
many 2 --scenario particles --entities 3000 --threads 1 --frames 9 --save "$dir/p.ckpt" >/dev/null
got=$(many 3 --restore "$dir/p.ckpt" --threads 2 --frames 5)
check "particles: saved on 2, 5 more frames on 3: '$got', uninterrupted '$want'" '[ "$got" = "$want" ]'

# --- bad input: exit 2, one line, once ------------------------------------------
bad() { # description, expected text, then the command's arguments
  local what=$1 text=$2
  shift 2
  run 3 "$mpi" "$@" >"$dir/bo" 2>"$dir/be"
  local rc=$?
  local lines
  lines=$(grep -c '^myriad-tune-mpi: ' "$dir/be")
  check "$what: exit 2 (got $rc)" '[ $rc -eq 2 ]'
  check "$what: one line from myriad-tune-mpi (got $lines: $(grep '^myriad-tune-mpi' "$dir/be" | head -2))" \
    '[ "$lines" -eq 1 ] && grep -q "$text" "$dir/be"'
}
cp "$ck" "$dir/copy.ckpt"
sed -i 's/^frame 24$/frame 2x/' "$dir/copy.ckpt"
bad "a damaged manifest" "frame" --restore "$dir/copy.ckpt"
bad "a missing manifest" "No such file" --restore "$dir/nothing.ckpt"
r1=$(ls "$ck".r1of2.f24.*.snap)
mv "$r1" "$dir/away.snap"
bad "a missing rank file" "missing" --restore "$ck"
mv "$dir/away.snap" "$r1"
cp "$(ls "$ck".r0of2.f24.*.snap)" "$r1.tmp" && mv "$r1.tmp" "$r1"
bad "a rank file of another rank" "not the file of this checkpoint" --restore "$ck"
bad "a manifest of another scenario" "another --scenario" --restore "$dir/p.ckpt" --scenario boids
bad "an unknown scenario" "no such scenario" --scenario nope
bad "a scenario that does not split" "does not split" --scenario ecsbench --entities 1000
bad "--chunk auto" "not in myriad-tune-mpi" --chunk auto
bad "--serve" "not in myriad-tune-mpi" --serve 8080
bad "absurd --rebalance" "rebalance" --rebalance -3
bad "absurd --entities" "entities" --entities 1e99
bad "--checkpoint without --checkpoint-every" "go together" --checkpoint "$dir/x"
run 2 "$mpi" --help >"$dir/h" 2>&1
check "--help: once, exit 0, names the MPI options" \
  '[ "$(grep -c "^usage: mpirun" "$dir/h")" -eq 1 ] && grep -q -- "--rebalance" "$dir/h" && grep -q -- "--restore FILE" "$dir/h"'

# --- a rank killed: the others stop within seconds ------------------------------
run 3 "$mpi" --scenario particles --entities 200k --threads 1 --frames 100000 >/dev/null 2>"$dir/kill.err" &
job=$!
pids=""
for _ in $(seq 1 100); do # until the three ranks run frames
  pids=$(pgrep -f "$(basename "$mpi") --scenario particles --entities 200k" | head -3)
  [ "$(wc -w <<<"$pids")" -eq 3 ] && break
  sleep 0.1
done
sleep 1
victim=$(awk 'NR == 2' <<<"$pids")
start=$(date +%s)
check "three ranks running ($pids)" '[ -n "$victim" ]'
[ -n "$victim" ] && kill -9 "$victim"
stopped=no
for _ in $(seq 1 150); do
  if ! kill -0 $job 2>/dev/null; then
    stopped=yes
    break
  fi
  sleep 0.1
done
wait $job
rc=$?
check "mpirun stopped within 15 s of the kill ($(($(date +%s) - start)) s)" '[ $stopped = yes ]'
check "and failed (exit $rc)" '[ $rc -ne 0 ]'
check "no rank left behind" '[ -z "$(pgrep -f "$(basename "$mpi") --scenario particles --entities 200k")" ]'
[ $stopped = yes ] || kill -9 $job 2>/dev/null

if [ $fails -ne 0 ]; then
  echo "mpi_cli: $fails failure(s)" >&2
  exit 1
fi
echo "mpi_cli: all checks passed"
