#!/usr/bin/env bash
# The web client against the real server, in headless chromium: myriad-tune
# --serve (with control) serves web/ and the stream; web/test/browser.mjs
# waits for 20 updates, requires the page's view hash to equal the server's
# and WebGL to draw, and saves a screenshot (live-view-SCENARIO.png, in the
# test's working folder) that it checks is not blank. Fails without
# chromium or the web client's test packages (tools/test.sh installs both:
# cd web && npm ci).
#   serve_browser.sh MYRIAD_TUNE SOURCE_DIR
set -uo pipefail
tune=$1 src=$2
if [ ! -d "$src/web/node_modules/playwright-core" ] || ! command -v "${CHROMIUM:-chromium}" >/dev/null; then
  echo "serve_browser: needs chromium and web/node_modules (cd web && npm ci)" >&2
  exit 1
fi
err=$(mktemp)
trap 'kill -KILL $pid 2>/dev/null; rm -f "$err"' EXIT
for scenario in boids particles; do
  "$tune" --serve 127.0.0.1:0 --serve-control --scenario "$scenario" --entities 5000 --threads 2 --chunk 1024 \
    --fps 60 --web-root "$src/web" 2>"$err" &
  pid=$!
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening=127\.0\.0\.1:\([0-9]*\)$/\1/p' "$err" 2>/dev/null)
    [ -n "$port" ] && break
    sleep 0.1
  done
  token=$(sed -n 's/^token=//p' "$err")
  [ -n "$port" ] || { echo "FAIL: no listening= line: $(cat "$err")" >&2; exit 1; }
  node "$src/web/test/browser.mjs" --url "http://127.0.0.1:$port/" --updates 20 --screenshot "live-view-$scenario.png" \
    --token "$token" || { echo "FAIL: $scenario in the browser" >&2; exit 1; }
  kill -INT $pid
  wait $pid || { echo "FAIL: exit status $? after SIGINT" >&2; exit 1; }
done
echo "serve_browser: the web client kept in step with the server (boids, particles)"
