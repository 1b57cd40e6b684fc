#!/usr/bin/env bash
# myriad-tune's snapshots from the outside: for every scenario, N frames,
# --save, then --restore in a new process and M frames end in the world
# hash of N + M frames without a stop, with other thread counts and chunk
# sizes before and after; --checkpoint writes the world of its last
# multiple of N; --hash prints one line per world run and leaves stdout
# alone; bad arguments and bad files exit 2 with one line.
set -uo pipefail
tune=$1
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# the world_hash lines a run prints on stderr (stdout must stay empty here)
hashes() {
  local out err rc
  out=$("$tune" --format csv "$@" 2>"$dir/err" >"$dir/out")
  rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAIL: $* exited $rc: $(cat "$dir/err")" >&2
    echo "exit $rc"
    return
  fi
  grep -v '^world_\(hash\|content\)=[0-9a-f]\{16\}$' "$dir/err" >&2 # anything else on stderr shows
  grep '^world_hash=' "$dir/err"
  # beside each world_hash, the content hash (world.h) of the same world
  [ "$(grep -c '^world_hash=' "$dir/err")" -eq "$(grep -c '^world_content=' "$dir/err")" ] ||
    echo "no world_content line per world_hash line" # the checks see it
}

# --- bit-exact continuation, each scenario ---------------------------------
N=4 M=5
for s in particles:3000 boids:1500 ecsbench:3000 ecsbench2:3000; do
  name=${s%%:*} n=${s##*:}
  f=$dir/$name.snap
  whole=$(hashes --scenario "$name" --entities "$n" --threads 1 --chunk 1024 --warmup 0 --frames $((N + M)) --hash)
  first=$(hashes --scenario "$name" --entities "$n" --threads 1 --chunk 1024 --warmup 0 --frames $N --hash)
  fresh_m=$(hashes --scenario "$name" --entities "$n" --threads 1 --chunk 1024 --warmup 0 --frames $M --hash)
  check "$name: one hash line a run" '[ "$(wc -l <<<"$whole")" -eq 1 ] && [[ $whole == world_hash=* ]]'
  check "$name: N, M and N + M frames end in three worlds (the test can tell them apart)" \
    '[ "$whole" != "$first" ] && [ "$whole" != "$fresh_m" ] && [ "$first" != "$fresh_m" ]'

  # saved at 1 thread in chunks of 1024 (warm-up frames are part of the
  # history), continued at 2 threads in chunks of 64, the scenario named
  # by the file alone
  saved=$(hashes --scenario "$name" --entities "$n" --threads 1 --chunk 1024 --warmup 1 --frames $((N - 1)) --save "$f" --hash)
  check "$name: --save's run hashes as N frames" '[ "$saved" = "$first" ]'
  check "$name: the file's meta names the scenario" \
    'grep -aq "myriad-tune scenario=$name entities=$n seed=1" "$f"'
  cont=$(hashes --restore "$f" --threads 2 --chunk 64 --warmup 0 --frames $M --hash)
  check "$name: saved at 1 thread, continued at 2: the hash of N + M frames" '[ "$cont" = "$whole" ]'

  # and the other way: saved at 2 threads in chunks of 64, continued at 1
  # in chunks of 4096, warm-up frames included, --scenario repeating the file's
  hashes --scenario "$name" --entities "$n" --threads 2 --chunk 64 --warmup 0 --frames $N --save "$f" >/dev/null
  cont=$(hashes --scenario "$name" --restore "$f" --threads 1 --chunk 4096 --warmup 2 --frames $((M - 2)) --hash)
  check "$name: saved at 2 threads, continued at 1: the hash of N + M frames" '[ "$cont" = "$whole" ]'

  # every configuration and repetition starts from the file: four worlds,
  # four equal hashes
  many=$(hashes --restore "$f" --threads 1,2 --chunk 256,2048 --repeat 2 --warmup 0 --frames $M --hash)
  check "$name: --hash: one line per world (2 threads x 2 chunks x 2 repetitions), each from the file" \
    '[ "$(wc -l <<<"$many")" -eq 8 ] && [ "$(sort -u <<<"$many")" = "$whole" ]'
done

# --- --hash leaves stdout alone ----------------------------------------------
json=$("$tune" --entities 3000 --threads 1,2 --chunk 512 --warmup 0 --frames 2 --format json --hash 2>"$dir/err")
check "--hash: stdout is valid JSON" 'jq -e . >/dev/null <<<"$json"'
check "--hash: two worlds, two lines on stderr" '[ "$(grep -c "^world_hash=[0-9a-f]\{16\}$" "$dir/err")" -eq 2 ]'
check "--hash: no hash on stdout" '! grep -q world_hash <<<"$json"'
auto=$(hashes --entities 3000 --threads 2 --chunk auto --warmup 0 --frames 2 --repeat 2 --hash)
check "--hash with --chunk auto: one world per repetition" '[ "$(wc -l <<<"$auto")" -eq 2 ]'
check "--hash without --hash: nothing" '[ -z "$(hashes --entities 3000 --threads 1 --chunk 512 --frames 1)" ]'

# --- --checkpoint --------------------------------------------------------------
c=$dir/check.snap s=$dir/save.snap
hashes --entities 3000 --threads 2 --chunk 256 --warmup 0 --frames 10 --checkpoint "$c" --checkpoint-every 4 >/dev/null
hashes --entities 3000 --threads 1 --chunk 1024 --warmup 0 --frames 8 --save "$s" >/dev/null
from_c=$(hashes --restore "$c" --threads 1 --chunk 1024 --warmup 0 --frames 1 --hash)
from_s=$(hashes --restore "$s" --threads 1 --chunk 1024 --warmup 0 --frames 1 --hash)
nine=$(hashes --entities 3000 --threads 1 --chunk 1024 --warmup 0 --frames 9 --hash)
eleven=$(hashes --entities 3000 --threads 1 --chunk 1024 --warmup 0 --frames 11 --hash)
check "--checkpoint-every 4 over 10 frames: the checkpoint is the world of frame 8, as --save after 8" \
  '[ -n "$from_c" ] && [ "$from_c" = "$from_s" ] && [ "$from_c" = "$nine" ] && [ "$from_c" != "$eleven" ]'
check "--checkpoint: no temporary file left beside it" '[ "$(ls "$dir" | grep -c -v "\.snap$\|^err$\|^out$")" -eq 0 ]'
# a restored world's frame count goes on from the file's: restored at
# frame 8 and run 5 frames, the checkpoint every 4 is at frame 12
rm -f "$c"
hashes --restore "$s" --threads 1 --chunk 1024 --warmup 0 --frames 5 --checkpoint "$c" --checkpoint-every 4 >/dev/null
from_c=$(hashes --restore "$c" --threads 1 --chunk 1024 --warmup 0 --frames 1 --hash)
thirteen=$(hashes --entities 3000 --threads 1 --chunk 1024 --warmup 0 --frames 13 --hash)
check "--checkpoint after --restore: at the world's frame 12" '[ -n "$from_c" ] && [ "$from_c" = "$thirteen" ]'

# --- bad arguments and bad files: exit 2, one line, nothing on stdout ---------
bad() { # name args... : exit 2 and one line on stderr that names `name`
  local err out rc name=$1
  shift
  out=$("$tune" --frames 1 "$@" 2>"$dir/err")
  rc=$?
  err=$(cat "$dir/err")
  check "bad $* -> exit 2 (got $rc)" '[ $rc -eq 2 ]'
  check "bad $* -> one line naming $name (got: $err)" \
    '[ "$(wc -l <<<"$err")" -eq 1 ] && grep -q -- "$name" <<<"$err"'
  check "bad $* -> nothing on stdout" '[ -z "$out" ]'
}
p=$dir/particles.snap
hashes --entities 3000 --threads 1 --chunk 1024 --warmup 0 --frames 2 --save "$p" >/dev/null
bad "scenario particles, not boids" --restore "$p" --scenario boids
bad "3000 entities, not 4000" --restore "$p" --entities 4000
bad "seed 1" --restore "$p" --seed 9
bad "$dir/missing.snap" --restore "$dir/missing.snap"
printf 'not a snapshot at all, just text\n' >"$dir/text.snap"
bad "$dir/text.snap" --restore "$dir/text.snap"
size=$(stat -c %s "$p")
head -c $((size / 2)) "$p" >"$dir/half.snap"
bad "$dir/half.snap" --restore "$dir/half.snap"
cp "$p" "$dir/flipped.snap"
at=$((size / 2))
byte=$(od -An -tu1 -j $at -N1 "$p" | tr -d ' ')
printf "$(printf '\\%03o' $(((byte ^ 0x10) & 0xff)))" | dd of="$dir/flipped.snap" bs=1 seek=$at conv=notrunc 2>/dev/null
check "the flipped copy differs from the file" '! cmp -s "$p" "$dir/flipped.snap"'
bad "$dir/flipped.snap" --restore "$dir/flipped.snap"
bad "--checkpoint-every" --checkpoint "$dir/c.snap"
bad "--checkpoint" --checkpoint-every 4
bad "--checkpoint-every" --checkpoint "$dir/c.snap" --checkpoint-every 0
bad "--save" --save /nonexistent-dir/w.snap
bad "--save" --save "$dir"
bad "--checkpoint" --checkpoint /nonexistent-dir/c.snap --checkpoint-every 2
bad "--checkpoint" --restore "$p" --threads 1,2 --checkpoint "$p" --checkpoint-every 1
check "no error left a file behind" '[ ! -e "$dir/c.snap" ]'

echo "tune_snapshot: $fails failures"
[ "$fails" -eq 0 ]
