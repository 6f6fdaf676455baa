#!/usr/bin/env python3
"""Upload-to-visible latency: a member uploads its library row with a new
number of loans, then reads its own figures (from the same server, or with
--read-base from another replica) until its key figure shows the new value.
(Comparisons show it with the next publication, rule 10.) Prints p50 and p99
over `--count` uploads (standard library only; called by benches/load.sh).
"""

import argparse
import json
import statistics
import time
import urllib.request


def request(method, url, token, body=None, content_type=None):
    req = urllib.request.Request(url, data=body, method=method)
    req.add_header("Authorization", f"Bearer {token}")
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=30) as r:
        return r.status, r.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--base", required=True)
    ap.add_argument("--token", required=True)
    ap.add_argument("--year", type=int, default=2024)
    ap.add_argument("--figures", required=True, help="the member's /figures answer (JSON)")
    ap.add_argument("--count", type=int, default=100)
    ap.add_argument("--read-base", help="read from this replica instead of --base")
    args = ap.parse_args()
    basic = {k: v for k, v in json.load(open(args.figures))["basic"].items() if v is not None}
    figures = f"{args.read_base or args.base}/api/v1/figures/library/{args.year}"
    latencies = []
    for i in range(args.count):
        row = dict(basic)
        # Within ±10 % of the real figure, so that no plausibility rule warns.
        row["loans"] = round(basic["loans"] * (0.95 + 0.001 * i))
        expected = (row["loans"] + row.get("e_loans", 0)) / row["population"]
        csv = (",".join(row) + "\n" + ",".join(str(v) for v in row.values()) + "\n").encode()
        start = time.perf_counter()
        status, _ = request("POST", f"{args.base}/api/v1/submissions/library/{args.year}",
                            args.token, csv, "text/csv")
        assert status == 201, status
        while True:
            _, body = request("GET", figures, args.token)
            own = json.loads(body)["key"].get("loans_per_capita")
            if own is not None and abs(own - expected) < 1e-9 * expected:
                break
            if time.perf_counter() - start > 10:
                raise SystemExit(f"upload {i} not visible after 10 s")
        latencies.append(time.perf_counter() - start)
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(round(0.99 * (len(latencies) - 1))))]
    print(f"  {len(latencies)} uploads: p50 {statistics.median(latencies) * 1000:.1f} ms, "
          f"p99 {p99 * 1000:.1f} ms, max {latencies[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
