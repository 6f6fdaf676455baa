#!/usr/bin/env python3
"""The full comparison computation of one (domain, year), by vergleichsring
and by DuckDB, on the same Parquet files, in one run.

Both read `<domain>_<year>.parquet` and `members.parquet` (written by
`vergleichsring generate --out DIR`), compute every key figure with the
domain's SQL from `queries/<domain>.sql`, group the members by all, size
class, Land and kind, and compute per group n, mean, type-7 quantiles
(p10, p25, median, p75, p90), sample standard deviation and the weighted
ratio of sums. Each side runs `--repeat` times; the best time counts. The
script then checks that both give the same numbers (relative difference at
most 1e-9) and prints both times and the ratio ours/DuckDB.

    python3 benches/duckdb_compare.py --dir big-parquet --domain library --year 2024

Needs the `duckdb` Python package and a release build of vergleichsring
(`cargo build --release`; the binary is looked up in $CARGO_TARGET_DIR or
target/).
"""

import argparse
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time
import tomllib

import duckdb

REPO = pathlib.Path(__file__).resolve().parent.parent
STATS = ["mean", "p10", "p25", "median", "p75", "p90", "std_dev", "weighted"]


def binary() -> pathlib.Path:
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "release" / "vergleichsring"


def ours(args) -> tuple[float, list[dict], dict]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        run = subprocess.run(
            [str(args.binary), "offline-compare", "--dir", str(args.dir), "--domain",
             args.domain, "--year", str(args.year), "--repeat", str(args.repeat),
             "--json", out.name],
            check=True, capture_output=True, text=True,
        )
        summary = json.loads(run.stdout.strip().splitlines()[-1])
        rows = json.loads(pathlib.Path(out.name).read_text())
    return summary["best_seconds"], rows, summary


def duckdb_sql(args) -> list[str]:
    domain = tomllib.loads((REPO / "catalog" / "domains" / f"{args.domain}.toml").read_text())
    figures = [k["id"] for k in domain["key_figures"]]
    key_sql = (REPO / "queries" / f"{args.domain}.sql").read_text()
    file = args.dir / f"{args.domain}_{args.year}.parquet"
    long = " UNION ALL ".join(
        f"SELECT member_id, '{f}' AS figure, {f} AS value, {f}__num AS num, {f}__den AS den FROM k"
        for f in figures
    )
    return [
        f"CREATE OR REPLACE TEMP VIEW basic AS SELECT *, {args.year} AS year FROM read_parquet('{file}')",
        f"CREATE OR REPLACE TEMP TABLE k AS {key_sql}",
        # Dimensions of each member: the first size class (in catalogue
        # order) whose minimum the population reaches for the member's kind.
        """CREATE OR REPLACE TEMP TABLE dims AS
           SELECT b.member_id, m.kind, substr(b.member_id, 1, 2) AS land,
                  (SELECT id FROM sc WHERE sc.kind = m.kind AND b.population >= sc.min_population
                   ORDER BY ord LIMIT 1) AS size_class
           FROM basic b JOIN members m USING (member_id)""",
        f"""SELECT figure,
                  CASE WHEN grouping(size_class) = 0 THEN 'size_class'
                       WHEN grouping(land) = 0 THEN 'land'
                       WHEN grouping(kind) = 0 THEN 'kind' ELSE 'all' END AS group_by,
                  coalesce(size_class, land, kind, 'all') AS "group",
                  count(value) AS n, avg(value) AS mean,
                  quantile_cont(value, [0.1, 0.25, 0.5, 0.75, 0.9]) AS q,
                  stddev_samp(value) AS std_dev,
                  sum(num) FILTER (WHERE num IS NOT NULL AND den IS NOT NULL)
                    / nullif(sum(den) FILTER (WHERE num IS NOT NULL AND den IS NOT NULL), 0) AS weighted
           FROM ({long}) l JOIN dims USING (member_id)
           WHERE value IS NOT NULL
           GROUP BY GROUPING SETS ((figure), (figure, size_class), (figure, land), (figure, kind))
           HAVING NOT (grouping(size_class) = 0 AND size_class IS NULL)""",
    ]


def duck(args) -> tuple[float, list[dict]]:
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    sizes = tomllib.loads((REPO / "catalog" / "size_classes.toml").read_text())["size_classes"]
    con.execute("CREATE TABLE sc (ord INTEGER, id VARCHAR, kind VARCHAR, min_population DOUBLE)")
    for i, c in enumerate(sizes):
        for kind in c["kinds"]:
            con.execute("INSERT INTO sc VALUES (?, ?, ?, ?)", [i, c["id"], kind, c["min_population"]])
    con.execute(f"CREATE TABLE members AS SELECT * FROM read_parquet('{args.dir / 'members.parquet'}')")
    statements = duckdb_sql(args)
    best = float("inf")
    result = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        for s in statements[:-1]:
            con.execute(s)
        result = con.execute(statements[-1]).fetchall()
        best = min(best, time.perf_counter() - start)
    rows = []
    for figure, group_by, group, n, mean, q, std_dev, weighted in result:
        row = {"figure": figure, "group_by": group_by, "group": group, "n": n, "mean": mean,
               "std_dev": std_dev, "weighted": weighted}
        row.update(dict(zip(["p10", "p25", "median", "p75", "p90"], q)))
        rows.append(row)
    return best, rows


def close(a, b) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dir", type=pathlib.Path, required=True)
    ap.add_argument("--domain", default="library")
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    ap.add_argument("--binary", type=pathlib.Path, default=binary())
    args = ap.parse_args()

    ours_s, ours_rows, summary = ours(args)
    duck_s, duck_rows = duck(args)

    mine = {(r["figure"], r["group_by"], r["group"]): r for r in ours_rows if r["n"] > 0}
    theirs = {(r["figure"], r["group_by"], r["group"]): r for r in duck_rows}
    problems = []
    if mine.keys() != theirs.keys():
        problems.append(f"groups differ: only ours {sorted(mine.keys() - theirs.keys())[:5]}, "
                        f"only DuckDB {sorted(theirs.keys() - mine.keys())[:5]}")
    for key in sorted(mine.keys() & theirs.keys()):
        a, b = mine[key], theirs[key]
        if a["n"] != b["n"]:
            problems.append(f"{key}: n {a['n']} vs {b['n']}")
        for s in STATS:
            # DuckDB gives a standard deviation of NULL for one value and a
            # quantile for any n; ours follows the same conventions.
            if not close(a[s], b[s]):
                problems.append(f"{key}: {s} {a[s]} vs {b[s]}")
    print(f"groups compared: {len(mine.keys() & theirs.keys())} "
          f"({summary['comparisons']} comparisons of {args.domain} {args.year})")
    print(f"vergleichsring: {ours_s * 1000:.1f} ms (best of {args.repeat}; read "
          f"{summary['read'] * 1000:.1f} ms, key figures {summary['key_figures'] * 1000:.1f} ms, "
          f"statistics {summary['statistics'] * 1000:.1f} ms)")
    print(f"DuckDB {duckdb.__version__} ({args.threads} threads): {duck_s * 1000:.1f} ms (best of {args.repeat})")
    print(f"ratio ours/DuckDB: {ours_s / duck_s:.2f}")
    if problems:
        print(f"{len(problems)} differences, e.g.:", *problems[:10], sep="\n  ")
        return 1
    print("numbers: identical within 1e-9")
    return 0


if __name__ == "__main__":
    sys.exit(main())
