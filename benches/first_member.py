#!/usr/bin/env python3
"""Prints the smallest member id registered in a data directory whose lake
is under it (DATA_DIR/lake/_state/log/, the state log): what the bench
scripts read with. Usage: python3 benches/first_member.py DATA_DIR"""

import glob
import json
import os
import sys

members = set()
for path in sorted(glob.glob(os.path.join(sys.argv[1], "lake", "_state", "log", "*.json"))):
    with open(path) as f:
        for change in json.load(f)["changes"]:
            if change["change"] == "members":
                members.update(m["member_id"] for m in change["members"])
if not members:
    sys.exit(f"{sys.argv[1]}: no members in the state log (migrate a directory from before 0.2 first)")
print(min(members))
