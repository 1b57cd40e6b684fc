#!/usr/bin/env bash
# myriad-snap from the outside, on the small world tests/snap_make.c saves
# (its header comment says what the world holds): every command's output
# and exit status, on good files, damaged ones (truncated, a flipped byte)
# and missing ones, and bad arguments (exit 2, one line on stderr).
# Usage: tests/snap_cli.sh MYRIAD_SNAP SNAP_MAKE
set -uo pipefail
snap=$1
make=$2
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT

# run ARGS...: the tool's stdout, stderr and exit status in $out, $err, $rc
run() {
  "$snap" "$@" >"$dir/out" 2>"$dir/err"
  rc=$?
  out=$(cat "$dir/out")
  err=$(cat "$dir/err")
}
# a line of $out that is exactly $1
has_line() { grep -qxF -- "$1" <<<"$out"; }

w=$dir/w.snap
"$make" "$w" >"$dir/w.hash" || { echo "FAIL: snap_make could not save the world" >&2; exit 1; }
"$make" "$dir/value.snap" value >"$dir/value.hash" &&
  "$make" "$dir/resource.snap" resource >/dev/null &&
  "$make" "$dir/tag.snap" tag >/dev/null &&
  "$make" "$dir/floats.snap" floats >/dev/null || { echo "FAIL: snap_make could not save a variant" >&2; exit 1; }
size=$(stat -c %s "$w")

# ---- the command line ------------------------------------------------------
run --help
check "--help: exit 0, the usage on stdout, every command in it" \
  '[ $rc -eq 0 ] && [ -z "$err" ] && (for c in info verify hash diff dump; do grep -q "^  $c " <<<"$out" || exit 1; done)'
run -h
check "-h is --help" '[ $rc -eq 0 ] && grep -q "^usage: myriad-snap" <<<"$out"'
run --version
check "--version: the library's version and the format's" \
  '[ $rc -eq 0 ] && [[ $out =~ ^myriad-snap\ [0-9]+\.[0-9]+\.[0-9]+\ \(snapshot\ format\ 1\)$ ]]'
usage_error() { # $1 the case; the rest the arguments: exit 2, one line on stderr, nothing on stdout
  local what=$1
  shift
  run "$@"
  check "$what: exit 2 and one line on stderr" \
    '[ $rc -eq 2 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" -eq 1 ] && [[ $err == myriad-snap:* ]]'
}
usage_error "no command"
usage_error "unknown command" frobnicate "$w"
usage_error "unknown option" --frobnicate
usage_error "info without a file" info
usage_error "info with two files" info "$w" "$w"
usage_error "verify with an option" verify --quick "$w"
usage_error "diff with one file" diff "$w"
usage_error "dump without --component" dump "$w"
usage_error "dump without a file" dump --component Position
usage_error "dump, --component without a value" dump "$w" --component
usage_error "dump, a bad --format" dump "$w" --component Position --format xml
usage_error "dump, an unknown component" dump "$w" --component Velocity
check "an unknown component is named" 'grep -q "Velocity" <<<"$err"'
run frobnicate "$w"
check "an unknown command is named" 'grep -q "frobnicate" <<<"$err"'

# ---- info ------------------------------------------------------------------
run info "$w"
check "info: exit 0, nothing on stderr" '[ $rc -eq 0 ] && [ -z "$err" ]'
check "info: the size and format version" 'has_line "bytes: $size" && has_line "format version: 1"'
check "info: the meta text, both lines" \
  'grep -A2 -x "meta:" <<<"$out" | tail -2 | diff - <(printf "  snap_make: the test world\n  second line\n") >/dev/null'
check "info: seed, frame and time" 'has_line "seed: 42" && has_line "frame: 10" && has_line "time: 0.5"'
check "info: 7 entities in 8 slots, 6 tables with rows" 'has_line "entities: 7 (slots: 8)" && has_line "tables: 6"'
check "info: 6 components, 2 resources" 'has_line "components: 6" && has_line "resources: 2"'
schema=$(sed -n '/^schema:/,/^resources:$/p' <<<"$out" | sed '1d;$d' | tr -s ' ')
resources=$(sed -n '/^resources:$/,/^sections:/p' <<<"$out" | sed '1d;$d' | tr -s ' ')
check "info: the schema, each component by name with its fields' types, sizes and offsets" \
  'diff - <(cat <<EOF
 Position (id 0): 2 fields
 x f32 size 4 offset 0
 y f32 size 4 offset 4
 Stats (id 1): 6 fields
 hp i32 size 4 offset 0
 flags u32 size 4 offset 4
 big i64 size 8 offset 8
 id u64 size 8 offset 16
 level u8 size 1 offset 24
 mass f64 size 8 offset 32
 Link (id 2): 1 field
 target entity size 8 offset 0
 Blob (id 3): 1 field
 bytes bytes size 5 offset 0
 Frozen (id 4): 0 fields (a tag)
 Pair (id 5): 2 fields
 first u32 size 4 offset 0
 (no name) u32 size 4 offset 4
EOF
) <<<"$schema"'
check "info: the resources by name, with their sizes and flags" \
  'diff - <(cat <<EOF
 Gravity (id 0): 4 bytes
 Ticks (id 1): 8 bytes
EOF
) <<<"$resources"'
sections=$(sed -n '/^sections:/,/^checksums:/p' <<<"$out" | sed '1,2d;$d')
check "info: one section of each kind but 6 tables, the end marker last, every checksum holding" \
  '[ "$(awk "{print \$2}" <<<"$sections" | LC_ALL=C sort | tr "\n" " ")" = "end entities meta resources schema table table table table table table world " ] &&
   [ "$(tail -1 <<<"$sections" | awk "{print \$2}")" = end ] &&
   awk "\$6 != \"ok\" { exit 1 }" <<<"$sections" && has_line "checksums: all hold" && has_line "loads: yes"'
check "info: the sections' offsets rise within the file; stored = raw when not compressed" \
  'awk -v size=$size "\$3 < next_at || \$3 >= size { exit 1 } { next_at = \$3 + 1 } \$7 == \"\" && \$4 != \$5 { exit 1 }" <<<"$sections"'
# the first table section's offset, and the one of the section after it
first_table=$(awk '$2 == "table" { print $3; getline; print $3; exit }' <<<"$sections")
after_table=${first_table#*$'\n'}
first_table=${first_table%$'\n'*}

# ---- verify and hash -------------------------------------------------------
run verify "$w"
check "verify: exit 0, counts on stdout" '[ $rc -eq 0 ] && [ -z "$err" ] && [ "$out" = "$w: ok: 7 entities, 6 tables, $size bytes" ]'
run hash "$w"
check "hash: the saved world's hash, as snap_make printed it" \
  '[ $rc -eq 0 ] && [ "$out" = "$(cat "$dir/w.hash")" ] && [[ $out =~ ^world_hash=[0-9a-f]{16}$ ]]'
run hash "$dir/value.snap"
check "hash: the variant's own hash, not the first's" \
  '[ $rc -eq 0 ] && [ "$out" = "$(cat "$dir/value.hash")" ] && [ "$out" != "$(cat "$dir/w.hash")" ]'

# a truncated copy, a copy with the first table section's last byte
# flipped, a missing file, a file that is not a snapshot
head -c $((size - 7)) "$w" >"$dir/short.snap"
flip=$((after_table - 1))
cp "$w" "$dir/flip.snap"
printf "$(printf '\\%03o' $(($(od -An -tu1 -j$flip -N1 "$w") ^ 0x40)))" |
  dd of="$dir/flip.snap" bs=1 seek=$flip conv=notrunc status=none
check "the flipped copy differs from the file in one byte" \
  '[ "$(cmp -l "$w" "$dir/flip.snap" | wc -l)" -eq 1 ]'
printf 'not a snapshot at all, just text\n' >"$dir/text.snap"

run verify "$dir/short.snap"
check "verify, truncated: exit 1, one line naming the file and a byte offset" \
  '[ $rc -eq 1 ] && [ -z "$out" ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "short.snap" <<<"$err" && grep -Eq "byte [0-9]+" <<<"$err"'
run verify "$dir/flip.snap"
check "verify, a flipped byte: exit 1, the file and an offset in the table's section up to the byte" \
  '[ $rc -eq 1 ] && grep -q "flip.snap" <<<"$err" &&
   off=$(grep -Eo "byte [0-9]+" <<<"$err" | head -1 | cut -d" " -f2) && [ "$off" -ge "$first_table" ] && [ "$off" -le $flip ]'
run verify "$dir/text.snap"
check "verify, not a snapshot: exit 1" '[ $rc -eq 1 ] && grep -q "text.snap" <<<"$err"'
run verify "$dir/missing.snap"
check "verify, a missing file: exit 2, naming it" \
  '[ $rc -eq 2 ] && [ "$(wc -l <<<"$err")" -eq 1 ] && grep -q "missing.snap" <<<"$err"'
run verify "$dir"
check "verify, a folder: exit 2" '[ $rc -eq 2 ]'
run hash "$dir/short.snap"
check "hash, truncated: exit 2, no hash" '[ $rc -eq 2 ] && [ -z "$out" ] && grep -q "short.snap" <<<"$err"'
run hash "$dir/missing.snap"
check "hash, a missing file: exit 2" '[ $rc -eq 2 ] && [ -z "$out" ]'

run info "$dir/flip.snap"
check "info, a flipped byte: exit 1, the sections still shown, that table's checksum failing" \
  '[ $rc -eq 1 ] && grep -q "flip.snap" <<<"$err" && has_line "checksums: some do not hold" &&
   sed -n "/^sections:/,/^checksums:/p" <<<"$out" | awk -v t=$first_table "\$3 == t { found = 1; bad += \$6 != \"MISMATCH\"; next } \$6 == \"MISMATCH\" { bad++ } END { exit !found || bad }" &&
   grep -q "^loads: no: " <<<"$out"'
run info "$dir/missing.snap"
check "info, a missing file: exit 2" '[ $rc -eq 2 ] && grep -q "missing.snap" <<<"$err"'
run info "$dir/text.snap"
check "info, not a snapshot: exit 1" '[ $rc -eq 1 ] && grep -q "text.snap" <<<"$err"'

# ---- diff --------------------------------------------------------------------
run diff "$w" "$w"
check "diff, the same file: exit 0, nothing differs" \
  '[ $rc -eq 0 ] && [ "$out" = "$(printf "differing entities: 0\nresources: equal\nfree list: equal\nseed: equal\nclock: equal")" ]'
run diff "$w" "$dir/value.snap"
check "diff, one value: exit 1, entity 4:1, Position.x with both values and their bits" \
  '[ $rc -eq 1 ] && [ "$out" = "$(cat <<EOF
first differing entity: slot 4, 4:1 in a, 4:1 in b
component: Position
field: x (f32)
value a: 6 (0x40c00000)
value b: 6.5 (0x40d00000)
differing entities: 1
resources: equal
free list: equal
seed: equal
clock: equal
EOF
)" ]'
run diff "$dir/tag.snap" "$w"
check "diff, a tag one entity has: exit 1, named with the side that has it" \
  '[ $rc -eq 1 ] && has_line "first differing entity: slot 1, 1:1 in a, 1:1 in b" && has_line "component: Frozen (in a only)" && has_line "differing entities: 1"'
run diff "$w" "$dir/tag.snap"
check "diff, the other way: in b only" '[ $rc -eq 1 ] && has_line "component: Frozen (in b only)"'
run diff "$w" "$dir/resource.snap"
check "diff, a resource: exit 1, no entity, the resource named" \
  '[ $rc -eq 1 ] && has_line "differing entities: 0" && has_line "resources: differ (first: Gravity)"'
run diff "$w" "$dir/missing.snap"
check "diff, a missing file: exit 2, naming it" '[ $rc -eq 2 ] && grep -q "missing.snap" <<<"$err"'
run diff "$dir/short.snap" "$w"
check "diff, a truncated file: exit 2, naming it" '[ $rc -eq 2 ] && grep -q "short.snap" <<<"$err"'

# ---- dump --------------------------------------------------------------------
run dump "$w" --component Position
check "dump csv: Position's rows in table then row order" \
  '[ $rc -eq 0 ] && [ "$out" = "$(cat <<EOF
entity,x,y
0:1,0,0.25
6:1,9,6.25
1:1,1.5,1.25
3:1,4.5,3.25
4:1,6,4.25
7:1,10.5,7.25
5:2,100,200
EOF
)" ]'
run dump --format csv --component=Stats "$w"
check "dump csv: every integer type at its width, f64 to 17 digits" \
  '[ $rc -eq 0 ] && [ "$out" = "$(cat <<EOF
entity,hp,flags,big,id,level,mass
0:1,50,0,0,18446744073709551360,0,0
6:1,-70,6,-6597069766656,18446744073709551366,180,2
4:1,-30,4,-4398046511104,18446744073709551364,120,1.3333333333333333
EOF
)" ]'
run dump "$w" --component Link
check "dump csv: entity fields as index:generation" \
  '[ $rc -eq 0 ] && [ "$out" = "$(printf "entity,target\n0:1,1:1\n6:1,7:1\n3:1,4:1\n5:2,0:1")" ]'
run dump "$w" --component Blob
check "dump csv: bytes as hex" '[ $rc -eq 0 ] && [ "$out" = "$(printf "entity,bytes\n1:1,deadbeef01\n4:1,deadbeef04")" ]'
run dump "$w" --component Frozen
check "dump csv: a tag, ids only" '[ $rc -eq 0 ] && [ "$out" = "$(printf "entity\n3:1\n7:1")" ]'
run dump "$w" --component Pair
check "dump csv: a field without a name" '[ $rc -eq 0 ] && [ "$out" = "$(printf "entity,first,field1\n7:1,7,8")" ]'

run dump "$w" --component Stats --format json
check "dump json: valid" '[ $rc -eq 0 ] && jq -e . >/dev/null <<<"$out"'
check "dump json: the component and its fields" \
  '[ "$(jq -c "[.component, [.fields[] | [.name, .type, .size, .offset]]]" <<<"$out")" = "[\"Stats\",[[\"hp\",\"i32\",4,0],[\"flags\",\"u32\",4,4],[\"big\",\"i64\",8,8],[\"id\",\"u64\",8,16],[\"level\",\"u8\",1,24],[\"mass\",\"f64\",8,32]]]" ]'
check "dump json: the rows, in order" \
  '[ "$(jq -c "[.rows[] | [.entity, .hp, .flags, .big, .level, .mass]]" <<<"$out")" = "[[\"0:1\",50,0,0,0,0],[\"6:1\",-70,6,-6597069766656,180,2],[\"4:1\",-30,4,-4398046511104,120,1.3333333333333333]]" ]'
check "dump json: u64 at full width (read as text)" \
  'grep -q "\"id\": 18446744073709551366" <<<"$out"'
run dump "$w" --component Link --format=json
check "dump json: entities and bytes as strings" \
  '[ $rc -eq 0 ] && [ "$(jq -c "[.rows[] | [.entity, .target]]" <<<"$out")" = "[[\"0:1\",\"1:1\"],[\"6:1\",\"7:1\"],[\"3:1\",\"4:1\"],[\"5:2\",\"0:1\"]]" ]'
run dump "$w" --component Blob --format json
check "dump json: bytes as a hex string" '[ "$(jq -c "[.rows[].bytes]" <<<"$out")" = "[\"deadbeef01\",\"deadbeef04\"]" ]'
run dump "$w" --component Frozen --format json
check "dump json: a tag" '[ $rc -eq 0 ] && [ "$(jq -c "[.fields, [.rows[].entity]]" <<<"$out")" = "[[],[\"3:1\",\"7:1\"]]" ]'
run dump "$dir/floats.snap" --component Floats
check "dump csv: NaN, infinities, -0, denormals and 0.1 to the digits that give their bits back" \
  '[ $rc -eq 0 ] && [ "$out" = "$(cat <<EOF
entity,f,d
0:1,nan,-inf
1:1,inf,-0
2:1,1.40129846e-45,4.9406564584124654e-324
3:1,0.100000001,0.10000000000000001
EOF
)" ]'
run dump "$dir/floats.snap" --component Floats --format json
check "dump json: NaN and infinities as strings, the rest numbers" \
  '[ $rc -eq 0 ] && [ "$(jq -c "[.rows[0].f, .rows[0].d, .rows[1].f, .rows[1].d, (.rows[2:] | map(.f, .d) | map(type))]" <<<"$out")" = "[\"nan\",\"-inf\",\"inf\",-0,[\"number\",\"number\",\"number\",\"number\"]]" ] &&
   grep -qF "\"f\": 1.40129846e-45, \"d\": 4.9406564584124654e-324" <<<"$out"'
run dump "$dir/short.snap" --component Position
check "dump, a truncated file: exit 2, naming it, no rows" '[ $rc -eq 2 ] && [ -z "$out" ] && grep -q "short.snap" <<<"$err"'

if [ $fails -gt 0 ]; then
  echo "$fails check(s) failed" >&2
  exit 1
fi
echo "snap_cli: all checks passed"
