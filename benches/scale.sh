#!/usr/bin/env bash
# Start time and memory of the release server at scale (issue 15):
#   1. start the server on DATA_DIR and time until /health answers and
#      until every domain answers a comparison (an analyst's, of the last
#      year);
#   2. the sweep: a member's time series of the first key figure in every
#      domain, then an analyst's comparison for every year of every domain;
#   3. the server's resident memory after the sweep, and, with LOAD=60s,
#      after a load test of a member's comparison (64 connections, wrk).
#
#   bash benches/scale.sh DATA_DIR      # DATA_DIR from `generate --data-dir`
#
# FROM and TO name the years (default 2005 and 2024). Extra `serve`
# settings come from the environment (e.g. VERGLEICHSRING_LIMITS_CACHE_MIB).
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:?usage: benches/scale.sh DATA_DIR}
FROM=${FROM:-2005}
TO=${TO:-2024}
PORT=${PORT:-18081}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/vergleichsring}
BASE=http://127.0.0.1:$PORT
trap 'kill $SERVER 2>/dev/null || true' EXIT

ANALYST=$($BIN token create --data-dir "$DATA_DIR" --role analyst)
MEMBER_ID=$(python3 benches/first_member.py "$DATA_DIR")
MEMBER=$($BIN token create --data-dir "$DATA_DIR" --role member --member-id "$MEMBER_ID")
# Every domain of the bundled catalogue (five since issue 29).
DOMAINS=$(ls catalog/domains | sed 's/\.toml$//')
# Each domain's first key figure, looked up before the clock starts (a
# Python start per domain inside the timed loop cost about 0.1 s each).
declare -A FIRST
for d in $DOMAINS; do
  FIRST[$d]=$(python3 -c "import tomllib; print(tomllib.load(open('catalog/domains/$d.toml','rb'))['key_figures'][0]['id'])")
done
first_figure() { echo "${FIRST[$1]}"; }
now() { date +%s.%N; }
since() { python3 -c "print(f'{$(now)-$1:.2f}')"; }
rss() { ps -o rss= -p "$SERVER" | awk '{printf "%.0f MiB", $1/1024}'; }
get() { # token, path: fails on any status but 200
  curl -sf -o /dev/null -H "Authorization: Bearer $1" "$BASE$2"
}

start=$(now)
RUST_LOG=warn $BIN serve --data-dir "$DATA_DIR" --listen 127.0.0.1:$PORT &
SERVER=$!
until curl -sf $BASE/health >/dev/null; do sleep 0.01; done
echo "/health answers after $(since "$start") s"
for d in $DOMAINS; do
  get "$ANALYST" "/api/v1/comparisons/$d/$TO?figure=$(first_figure $d)&group_by=size_class"
done
echo "every domain answers a comparison after $(since "$start") s"
echo "resident memory after start: $(rss)"

sweep=$(now)
for d in $DOMAINS; do
  get "$MEMBER" "/api/v1/timeseries/$d/$(first_figure $d)?group_by=size_class&member_id=$MEMBER_ID"
done
echo "a member's time series in every domain: $(since "$sweep") s"
comparisons=$(now)
for d in $DOMAINS; do
  for y in $(seq "$FROM" "$TO"); do
    get "$ANALYST" "/api/v1/comparisons/$d/$y?figure=$(first_figure $d)&group_by=size_class"
  done
done
echo "an analyst's comparison for every year of every domain: $(since "$comparisons") s"
echo "resident memory after the sweep: $(rss)"

curl -s $BASE/metrics | grep -E "^vergleichsring_cache" || true
if [ -n "${LOAD:-}" ]; then
  wrk -t2 -c64 -d"$LOAD" --latency -H "Authorization: Bearer $MEMBER" \
    "$BASE/api/v1/comparisons/library/$TO?figure=$(first_figure library)&group_by=size_class" \
    | grep -E 'Requests/sec|99%|Non-2xx' || true
  echo "resident memory after the $LOAD load test: $(rss)"
fi
