#!/usr/bin/env bash
# Publications at scale (issue 12): on a data directory from `generate
# --data-dir` (which publishes every year as it imports), with the release
# binary and `auto_publish` off, prints
#   1) the time of POST /api/v1/publications/library/YEAR after five
#      members corrected their figures (the audit of every key figure and
#      built-in dimension against the earlier publication included),
#   2) the time of a custom group's first comparison (rule 6 and the audit
#      over every key figure, recorded in the ledger) and of the second
#      (already released: no audit),
#   3) the size of the year's ledger.
#
#   bash benches/publish.sh DATA_DIR [YEAR]
set -euo pipefail
cd "$(dirname "$0")/.."
DATA_DIR=${1:?usage: benches/publish.sh DATA_DIR [YEAR]}
YEAR=${2:-2024}
PORT=${PORT:-18090}
TARGET=${CARGO_TARGET_DIR:-target}
BIN=${BIN:-$TARGET/release/vergleichsring}
BASE=http://127.0.0.1:$PORT
WORK=$(mktemp -d)
trap 'kill $SERVER 2>/dev/null || true; rm -rf "$WORK"' EXIT

ADMIN=$($BIN token create --data-dir "$DATA_DIR" --role admin)
ANALYST=$($BIN token create --data-dir "$DATA_DIR" --role analyst)
VERGLEICHSRING_DISCLOSURE_AUTO_PUBLISH=false RUST_LOG=warn \
  $BIN serve --data-dir "$DATA_DIR" --listen 127.0.0.1:$PORT &
SERVER=$!
until curl -sf $BASE/health >/dev/null; do sleep 0.05; done

# Five members with figures in YEAR correct their loans by 1 %.
python3 - "$DATA_DIR" "$YEAR" "$WORK" "$BASE" "$ADMIN" <<'EOF'
import json, sys, urllib.request
data_dir, year, work, base, admin = sys.argv[1:]
def get(path):
    req = urllib.request.Request(base + path, headers={"Authorization": f"Bearer {admin}"})
    with urllib.request.urlopen(req, timeout=120) as r:
        return json.loads(r.read())
members = [m["member_id"] for m in get("/api/v1/members")]
rows = []
for m in members:
    try:
        f = get(f"/api/v1/figures/library/{year}?member_id={m}")
    except Exception:
        continue
    basic = {k: v for k, v in f["basic"].items() if v is not None}
    basic["loans"] = round(basic["loans"] * 1.01)
    rows.append((m, basic))
    if len(rows) == 5:
        break
cols = sorted(set().union(*(b.keys() for _, b in rows)))
with open(f"{work}/fix.csv", "w") as out:
    out.write("member_id," + ",".join(cols) + "\n")
    for m, b in rows:
        out.write(m + "," + ",".join(str(b.get(c, "")) for c in cols) + "\n")
json.dump(members[:500:3] + members[1000:1600], open(f"{work}/group.json", "w"))
EOF
curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: text/csv' \
  --data-binary @"$WORK/fix.csv" "$BASE/api/v1/submissions/library/$YEAR" >/dev/null
# The first read loads the domain; not part of the publication's time.
curl -sf -H "Authorization: Bearer $ADMIN" \
  "$BASE/api/v1/comparisons/library/$YEAR?figure=loans_per_capita&group_by=all" >/dev/null

echo "1) publish library $YEAR after five corrections:"
curl -s -o "$WORK/pub.json" -w '   %{time_total} s, HTTP %{http_code}\n' -X POST \
  -H "Authorization: Bearer $ADMIN" "$BASE/api/v1/publications/library/$YEAR"
python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print('  ', {k: p.get(k) for k in ['id','changed_members','suppressed_by_audit']})" "$WORK/pub.json"

echo "2) a custom group of $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))))" "$WORK/group.json") members: first comparison (rule 6 + audit of every key figure), then again:"
python3 -c "import json,sys; print(json.dumps({'id': 'bench_group', 'name': 'Bench', 'member_ids': json.load(open(sys.argv[1]))}))" "$WORK/group.json" > "$WORK/group_body.json"
curl -sf -H "Authorization: Bearer $ADMIN" -H 'Content-Type: application/json' \
  --data-binary @"$WORK/group_body.json" "$BASE/api/v1/groups" >/dev/null || true
# The publication's view (its year, member list and masks) is built by the
# first read after publishing; not part of the custom group's time.
curl -sf -H "Authorization: Bearer $ANALYST" \
  "$BASE/api/v1/comparisons/library/$YEAR?figure=loans_per_capita&group_by=all" >/dev/null
for i in 1 2; do
  curl -s -o "$WORK/custom.json" -w '   %{time_total} s, HTTP %{http_code}\n' -H "Authorization: Bearer $ANALYST" \
    "$BASE/api/v1/comparisons/library/$YEAR?figure=loans_per_capita&group_by=bench_group"
done
head -c 300 "$WORK/custom.json"; echo

echo "3) ledger of library $YEAR: $(ls "$DATA_DIR/ledger/library/$YEAR" | wc -l) entries, $(du -sh "$DATA_DIR/ledger/library/$YEAR" | cut -f1)"
