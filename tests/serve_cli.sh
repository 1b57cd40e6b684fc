#!/usr/bin/env bash
# myriad-tune --serve from the outside: bad flags exit 2 with one line; a
# server on 127.0.0.1:0 says where it listens, streams a hello, a keyframe
# and deltas that decode (serve_client), closes only the connection that
# sends a bad message, refuses foreign Origins and a ninth client, is not
# slowed by a client that never reads, listens on loopback only, refuses
# control unless started with it, obeys control with the token, and exits
# 0 on SIGINT and SIGTERM. Bound to 0.0.0.0 or ::, it accepts a page from
# any of its IP addresses as the browser addressed it (Origin http:// and
# the Host header, an IP literal with the port), never from a host name.
#   serve_cli.sh MYRIAD_TUNE SERVE_CLIENT
set -uo pipefail
tune=$1 client=$2
fails=0
check() { if ! eval "$2"; then echo "FAIL: $1" >&2; fails=$((fails + 1)); fi; }
scratch=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null; done
  rm -rf "$scratch"
}
trap cleanup EXIT

bad() { # ARGS...: exit 2 and one line on stderr
  "$tune" "$@" >/dev/null 2>"$scratch/bad"
  local rc=$?
  [ $rc -eq 2 ] && [ "$(wc -l <"$scratch/bad")" -eq 1 ]
}
check "--serve with a port above 65535" 'bad --serve 70000'
check "--serve with a negative port" 'bad --serve -1'
check "--serve with a bad address" 'bad --serve nowhere:8080'
check "--serve with a bad address (numbers)" 'bad --serve 300.1.2.3:8080'
check "--serve with no port" 'bad --serve 127.0.0.1:'
check "--serve with IPv6 not in brackets" 'bad --serve ::1:0'
check "--serve with a space before the port" "bad --serve ' 0'"
check "--serve with a space and a sign before the port" "bad --serve ' -0'"
check "--serve with a plus sign" 'bad --serve +0'
check "--serve with IPv4 in brackets" 'bad --serve [127.0.0.1]:0'
check "--serve with an unclosed bracket" 'bad --serve [::1:0'
check "--fps 0" 'bad --serve 0 --fps 0'
check "--fps absurd" 'bad --serve 0 --fps 1000000'
check "--fps without --serve" 'bad --fps 30'
check "--serve-control without --serve" 'bad --serve-control'
check "--web-root not a directory" 'bad --serve 0 --web-root /nonexistent/web'
check "help names --serve" '"$tune" --help | grep -q -- "--serve \[ADDR:\]PORT"'

# start SERVER_NAME ARGS...: a server in the background; sets port (and
# token with --serve-control) from its stderr
start() {
  local name=$1
  shift
  "$tune" --scenario particles --entities 2000 --threads 1 --chunk 1024 "$@" 2>"$scratch/$name.err" &
  pids+=($!)
  pid=$!
  port= token=
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening=.*:\([0-9]*\)$/\1/p' "$scratch/$name.err" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.1
  done
  token=$(sed -n 's/^token=\([0-9a-f]*\)$/\1/p' "$scratch/$name.err")
  [ -n "$port" ] || { echo "FAIL: $name: no listening= line: $(cat "$scratch/$name.err")" >&2; exit 1; }
}
# stop SIGNAL: the server ends with exit status 0
stop() {
  kill -"$1" "$pid"
  local rc
  wait "$pid"
  rc=$?
  [ $rc -eq 0 ] || { echo "exit status $rc after SIG$1: $(cat "$scratch"/*.err)" >&2; return 1; }
}

start plain --serve 127.0.0.1:0
check "listening= names a real port" '[ "$port" -gt 0 ]'
check "no token without --serve-control" '[ -z "$token" ]'
check "hello, keyframe, deltas that decode, figures" '"$client" watch "$port" 30'
check "a bad message closes that connection alone" '"$client" garbage "$port"'
check "foreign Origin and other paths refused" '"$client" origin "$port"'
# handshake ADDR HOST ORIGIN: the WebSocket request accepted; refused ...:
# refused (not a failed connection)
handshake() { "$client" handshake "$port" "$@" >/dev/null; }
refused() {
  handshake "$@"
  [ $? -eq 1 ]
}
check "127.0.0.1: a page at another address of the machine refused" \
  'refused 127.0.0.1 192.0.2.2:$port http://192.0.2.2:$port'
check "a ninth client refused" '"$client" limit "$port" 8'
check "a client that never reads slows nothing" '"$client" stall "$port"'
check "control refused without --serve-control" '"$client" nocontrol "$port"'
# loopback only: the machine's other addresses are refused
other=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+\.' | grep -v '^127\.' | head -1)
if [ -n "$other" ]; then
  check "not listening on $other" '! timeout 3 bash -c "exec 3<>/dev/tcp/$other/$port" 2>/dev/null'
  check "listening on 127.0.0.1" 'timeout 3 bash -c "exec 3<>/dev/tcp/127.0.0.1/$port" 2>/dev/null'
else
  echo "serve_cli: no non-loopback IPv4 address (hostname -I): the loopback-only check is skipped" >&2
fi
check "SIGINT ends it with exit 0" 'stop INT'

start control --serve 0 --serve-control --fps 200
check "a 32-digit token with --serve-control" '[ ${#token} -eq 32 ]'
check "pause, step, chunk, resume with the token; a wrong one closes" '"$client" control "$port" "$token"'
check "SIGTERM ends it with exit 0" 'stop TERM'

# the web client's files at /, from --web-root
mkdir -p "$scratch/web"
echo '<!doctype html><title>myriad</title>' >"$scratch/web/index.html"
start web --serve 0 --web-root "$scratch/web"
check "index.html served at /" 'curl -sf "http://127.0.0.1:$port/" | grep -q "<title>myriad</title>"'
check "a missing file is 404" '[ "$(curl -s -o /dev/null -w "%{http_code}" "http://127.0.0.1:$port/nope.js")" = 404 ]'
check "SIGINT again" 'stop INT'

# bound to 0.0.0.0: a page from any IPv4 address of the machine, as the
# browser addressed it (the Host header, an IP literal, with the port);
# never a name in Host (DNS rebinding), nor an Origin other than the Host's
start any --serve 0.0.0.0:0
check "0.0.0.0: listening=0.0.0.0:PORT" 'grep -q "^listening=0\.0\.0\.0:$port$" "$scratch/any.err"'
check "0.0.0.0: Host and Origin 127.0.0.1 accepted" 'handshake 127.0.0.1 127.0.0.1:$port http://127.0.0.1:$port'
check "0.0.0.0: Host and Origin 192.0.2.2 accepted" 'handshake 127.0.0.1 192.0.2.2:$port http://192.0.2.2:$port'
if [ -n "$other" ] && [ "$other" != 192.0.2.2 ]; then
  check "0.0.0.0: Host and Origin $other accepted" 'handshake 127.0.0.1 $other:$port http://$other:$port'
fi
check "0.0.0.0: no Origin accepted" 'handshake 127.0.0.1 - -'
check "0.0.0.0: a name in Host and Origin refused" 'refused 127.0.0.1 evil.example:$port http://evil.example:$port'
check "0.0.0.0: localhost in Host is a name too, but its Origin is listed" \
  'handshake 127.0.0.1 localhost:$port http://localhost:$port'
check "0.0.0.0: a foreign Origin with a loopback Host refused" \
  'refused 127.0.0.1 127.0.0.1:$port http://evil.example:$port'
check "0.0.0.0: an Origin other than the Host refused" 'refused 127.0.0.1 127.0.0.1:$port http://192.0.2.2:$port'
check "0.0.0.0: another port refused" 'refused 127.0.0.1 192.0.2.2:1 http://192.0.2.2:1'
check "0.0.0.0: an https Origin refused" 'refused 127.0.0.1 192.0.2.2:$port https://192.0.2.2:$port'
check "0.0.0.0: an IPv6 Host refused" 'refused 127.0.0.1 [::1]:$port http://[::1]:$port'
check "0.0.0.0: SIGINT" 'stop INT'

# bound to ::, the same for IPv6 literals in brackets, and [::1]
if grep -q '^0\{31\}1 .* lo$' /proc/net/if_inet6 2>/dev/null; then
  start any6 --serve '[::]:0'
  check "[::]: listening=[::]:PORT" 'grep -q "^listening=\[::\]:$port$" "$scratch/any6.err"'
  check "[::]: Origin http://[::1]:PORT accepted" 'handshake ::1 - http://[::1]:$port'
  check "[::]: Host and Origin [2001:db8::2] accepted" \
    'handshake ::1 [2001:db8::2]:$port http://[2001:db8::2]:$port'
  check "[::]: Host and Origin 192.0.2.2 accepted" 'handshake ::1 192.0.2.2:$port http://192.0.2.2:$port'
  check "[::]: a name in Host and Origin refused" 'refused ::1 evil.example:$port http://evil.example:$port'
  check "[::]: a foreign Origin with a loopback Host refused" 'refused ::1 [::1]:$port http://evil.example:$port'
  check "[::]: no brackets refused" 'refused ::1 2001:db8::2:$port http://2001:db8::2:$port'
  check "[::]: SIGINT" 'stop INT'
  start v6 --serve '[::1]:0'
  check "[::1]: Origin http://[::1]:PORT accepted" 'handshake ::1 - http://[::1]:$port'
  check "[::1]: a page at another address refused" 'refused ::1 [2001:db8::2]:$port http://[2001:db8::2]:$port'
  check "[::1]: SIGINT" 'stop INT'
else
  echo "serve_cli: no IPv6 loopback (::1): the checks bound to :: are skipped" >&2
fi

# without --web-root, a tuner run from the build tree serves the source
# tree's web/ (when the web client is there)
web=$(cd "$(dirname "$0")/../web" 2>/dev/null && pwd)
if [ -n "$web" ] && [ -f "$web/index.html" ]; then
  start default --serve 0
  check "the source tree's web/index.html served by default" \
    'curl -sf "http://127.0.0.1:$port/" | cmp -s - "$web/index.html"'
  check "SIGINT once more" 'stop INT'
fi

[ $fails -eq 0 ] && echo "serve_cli: all checks passed"
exit $((fails > 0))
