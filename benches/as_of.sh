#!/usr/bin/env bash
# The cost of `as_of`: a ring of MEMBERS members (2020–2024) is imported,
# library 2024 is frozen, a correction is uploaded, and the member's report
# as of the release is timed: the first call reads three past snapshots with
# Delta time travel, the next ones come from the kept snapshots.
#
#   MEMBERS=11000 bash benches/as_of.sh
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET="${CARGO_TARGET_DIR:-target}"
BIN="${BIN:-$TARGET/release/vergleichsring}"
MEMBERS="${MEMBERS:-11000}"
WORK=$(mktemp -d)
PID=""
cleanup() { [ -n "$PID" ] && kill "$PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
$BIN generate --members "$MEMBERS" --years 2020-2024 --data-dir "$WORK/ring" | tail -1
ADMIN=$($BIN token create --data-dir "$WORK/ring" --role admin)
MEMBER_ID=$(python3 benches/first_member.py "$WORK/ring")
MEMBER=$($BIN token create --data-dir "$WORK/ring" --role member --member-id "$MEMBER_ID")
RUST_LOG=warn,buoyant_kernel=off $BIN serve --data-dir "$WORK/ring" --listen 127.0.0.1:18090 & PID=$!
for _ in $(seq 1 300); do curl -sf http://127.0.0.1:18090/health >/dev/null && break; sleep 0.1; done
BASE=http://127.0.0.1:18090
t() { curl -s -o /dev/null -w '%{time_total}' -H "Authorization: Bearer $1" "$2"; }
echo "live report, first call: $(t "$MEMBER" "$BASE/api/v1/reports/$MEMBER_ID/2024?format=json") s"
echo "live report, warm:       $(t "$MEMBER" "$BASE/api/v1/reports/$MEMBER_ID/2023?format=json") s"
curl -sf -X POST -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/releases/library/2024" >/dev/null
curl -sf -X POST -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/releases/library/2024/reopen" >/dev/null
curl -sf -H "Authorization: Bearer $MEMBER" "$BASE/api/v1/figures/library/2024" > "$WORK/figures.json"
python3 - "$WORK/figures.json" "$WORK/fix.csv" <<'PY'
import json, sys
basic = {k: v for k, v in json.load(open(sys.argv[1]))["basic"].items() if v is not None}
basic["loans"] = round(basic["loans"] * 1.02)
open(sys.argv[2], "w").write(",".join(basic) + "\n" + ",".join(str(v) for v in basic.values()) + "\n")
PY
curl -sf -H "Authorization: Bearer $MEMBER" -H 'Content-Type: text/csv' --data-binary @"$WORK/fix.csv" \
  "$BASE/api/v1/submissions/library/2024" >/dev/null
for i in 1 2 3; do
  echo "report as_of=library-2024-1, call $i: $(t "$MEMBER" "$BASE/api/v1/reports/$MEMBER_ID/2024?format=json&as_of=library-2024-1") s"
done
echo "comparison as_of=library-2024-1: $(t "$MEMBER" "$BASE/api/v1/comparisons/library/2024?figure=loans_per_capita&group_by=size_class&as_of=library-2024-1") s"
echo "RSS after: $(ps -o rss= -p "$PID" | awk '{printf "%.0f MB", $1/1024}')"
