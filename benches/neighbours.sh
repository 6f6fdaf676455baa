#!/usr/bin/env bash
# Structural neighbours at scale (issue 30), on a lake from
# `vergleichsring generate --data-dir DIR` (whose members carry a
# structure). Prints:
#   a) every member's neighbours of one (domain, year) as admin, cold (the
#      candidates built and all pairs computed) and warm, three times each;
#   b) a member's `group_by=neighbours` comparison with wrk, 64 connections
#      (CONNECTIONS), DURATION (default 15s): requests/s, p50, p99.
#
#   BIN=target/release/vergleichsring bash benches/neighbours.sh DATA_DIR
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:?usage: benches/neighbours.sh DATA_DIR}
DURATION=${DURATION:-15s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18090}
YEAR=${YEAR:-2024}
DOMAIN=${DOMAIN:-library}
BIN=${BIN:-${CARGO_TARGET_DIR:-target}/release/vergleichsring}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

ADMIN=$($BIN token create --data-dir "$DATA_DIR" --role admin)
MEMBER_ID=$(python3 benches/first_member.py "$DATA_DIR")
MEMBER=$($BIN token create --data-dir "$DATA_DIR" --role member --member-id "$MEMBER_ID")
RUST_LOG=warn $BIN serve --data-dir "$DATA_DIR" --listen 127.0.0.1:$PORT &
SERVER=$!
until curl -sf $BASE/health >/dev/null; do sleep 0.05; done
# The year in memory first: what is timed is the neighbours' own work.
curl -sf -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/comparisons/$DOMAIN/$YEAR?figure=loans_per_capita&group_by=all" >/dev/null
for run in 1 2 3; do
  t=$(curl -s -o "$WORK/all.json" -w '%{time_total}' -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/neighbours/$DOMAIN/$YEAR")
  pairs=$(python3 -c "import json; print(len(json.load(open('$WORK/all.json'))))")
  echo "every member's neighbours ($pairs pairs), run $run: $t s"
done
curl -sf -H "Authorization: Bearer $MEMBER" "$BASE/api/v1/comparisons/$DOMAIN/$YEAR?figure=loans_per_capita&group_by=neighbours" >/dev/null \
  || { echo "the member's neighbour comparison is refused:"; curl -s -H "Authorization: Bearer $MEMBER" "$BASE/api/v1/comparisons/$DOMAIN/$YEAR?figure=loans_per_capita&group_by=neighbours"; echo; }
cat > "$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  io.write(string.format("  %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d (of %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.timeout, summary.requests))
end
EOF
echo "a member's neighbour comparison, $CONNECTIONS connections, $DURATION:"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" -s "$WORK/report.lua" -H "Authorization: Bearer $MEMBER" \
  "$BASE/api/v1/comparisons/$DOMAIN/$YEAR?figure=loans_per_capita&group_by=neighbours" | tail -1
echo "resident memory: $(ps -o rss= -p $SERVER | awk '{printf "%.0f MB", $1/1024}')"
