#!/usr/bin/env bash
# Load test of the release server on a generated lake, with wrk (Debian's
# `wrk` package). For each scenario 64 connections for 30 s (DURATION and
# CONNECTIONS change that); prints requests/s, p50/p99 latency and errors:
#   a) /health
#   b) a member's comparison (the same request again and again, as a
#      member's browser polls it)
#   c) a member's comparison over all key figures and dimensions in turn
#   d) a member's JSON report
#   e) uploads (4 connections, a member's own row) during (c)
# then the upload-to-visible latency (benches/upload_visible.py).
#
#   bash benches/load.sh DATA_DIR        # DATA_DIR from `generate --data-dir`
#
# The server's resident memory is printed after start and at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:?usage: benches/load.sh DATA_DIR}
DURATION=${DURATION:-30s}
CONNECTIONS=${CONNECTIONS:-64}
PORT=${PORT:-18080}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/vergleichsring}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

ADMIN=$($BIN token create --data-dir "$DATA_DIR" --role admin)
# A member with figures in the latest year: the smallest registered id.
MEMBER_ID=$(python3 benches/first_member.py "$DATA_DIR")
MEMBER=$($BIN token create --data-dir "$DATA_DIR" --role member --member-id "$MEMBER_ID")
YEAR=${YEAR:-2024}

start=$(date +%s.%N)
# Scenario (e) measures upload throughput with one member token, far above
# the per-token rate limit (`limits.uploads_per_minute`), so it is lifted.
VERGLEICHSRING_LIMITS_UPLOADS_PER_MINUTE=0 RUST_LOG=warn $BIN serve --data-dir "$DATA_DIR" --listen 127.0.0.1:$PORT &
SERVER=$!
until curl -sf $BASE/health >/dev/null; do sleep 0.05; done
# The first comparison per domain loads the lake into memory.
for d in library museum music_school; do
  curl -sf -H "Authorization: Bearer $MEMBER" "$BASE/api/v1/comparisons/$d/$YEAR?figure=$(python3 -c "import tomllib,sys; print(tomllib.load(open('catalog/domains/$d.toml','rb'))['key_figures'][0]['id'])")&group_by=size_class" >/dev/null
done
ready=$(date +%s.%N)
echo "server up and all three domains loaded in $(python3 -c "print(f'{$ready-$start:.2f}')") s"
echo "resident memory after start: $(ps -o rss= -p $SERVER | awk '{printf "%.0f MB", $1/1024}')"

cat > "$WORK/report.lua" <<'EOF'
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("  %.0f req/s, p50 %.2f ms, p99 %.2f ms, errors %d (of %d)\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, errors, summary.requests))
end
EOF

# Every key figure × dimension of the year, one request each, in turn.
python3 - "$YEAR" > "$WORK/paths.lua" <<'EOF'
import sys, tomllib
year = sys.argv[1]
paths = []
for d in ["library", "museum", "music_school"]:
    for k in tomllib.load(open(f"catalog/domains/{d}.toml", "rb"))["key_figures"]:
        for g in ["all", "size_class", "land", "kind"]:
            paths.append(f"/api/v1/comparisons/{d}/{year}?figure={k['id']}&group_by={g}")
print("paths = {" + ",".join(f'"{p}"' for p in paths) + "}")
print("i = 0")
print("request = function() i = i % #paths + 1; return wrk.format('GET', paths[i]) end")
EOF
cat "$WORK/report.lua" >> "$WORK/paths.lua"

one() { # name, wrk arguments...
  echo "$1"; shift
  wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/report.lua" "$@" | grep -E 'req/s' || true
}
one "a) /health" "$BASE/health"
one "b) a member's comparison" -H "Authorization: Bearer $MEMBER" \
  "$BASE/api/v1/comparisons/library/$YEAR?figure=loans_per_capita&group_by=size_class"
one "c) a member's comparisons, every key figure and dimension in turn" -H "Authorization: Bearer $MEMBER" \
  -s "$WORK/paths.lua" "$BASE"
one "d) a member's JSON report" -H "Authorization: Bearer $MEMBER" \
  "$BASE/api/v1/reports/$MEMBER_ID/$YEAR?format=json"

# e) uploads of the member's own row (values from its current figures)
# while (c) runs.
curl -sf -H "Authorization: Bearer $MEMBER" "$BASE/api/v1/figures/library/$YEAR" > "$WORK/figures.json"
python3 - "$WORK/figures.json" "$WORK/upload.csv" <<'EOF'
import json, sys
f = json.load(open(sys.argv[1]))
basic = {k: v for k, v in f["basic"].items() if v is not None}
with open(sys.argv[2], "w") as out:
    out.write(",".join(basic) + "\n" + ",".join(str(v) for v in basic.values()) + "\n")
EOF
cat > "$WORK/upload.lua" <<EOF
local f = io.open("$WORK/upload.csv", "rb")
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "text/csv"
wrk.headers["Authorization"] = "Bearer $MEMBER"
EOF
cat "$WORK/report.lua" >> "$WORK/upload.lua"
echo "e) uploads (4 connections) during reads (c)"
wrk -t1 -c4 -d"$DURATION" --latency -s "$WORK/upload.lua" "$BASE/api/v1/submissions/library/$YEAR" \
  | grep -E 'req/s' | sed 's/^/  uploads:/' &
UPLOADS=$!
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -s "$WORK/paths.lua" \
  -H "Authorization: Bearer $MEMBER" "$BASE" | grep -E 'req/s' | sed 's/^/  reads:/'
wait $UPLOADS

echo "upload-to-visible latency (100 uploads)"
python3 benches/upload_visible.py --base "$BASE" --token "$MEMBER" --year "$YEAR" --figures "$WORK/figures.json"
echo "resident memory at the end: $(ps -o rss= -p $SERVER | awk '{printf "%.0f MB", $1/1024}')"
