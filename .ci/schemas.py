#!/usr/bin/env python3
"""Checks that the server's mirror schemas match the types they describe.

utoipa lives only in the server (issue 27), so the answer types of the
catalogue, ingest, the store and the engine have mirrors in
`crates/server/src/contract/schema/`, each introduced by a line
"// Mirrors `Name` of `crates/<path>`.". This script compares every mirror
with the type of that name in that file: doc comments, serde attributes
(the function a `skip_serializing_if` names excepted: the mirror only says
that a field may be left out), field and variant names and field types
(paths dropped). `#[schema(...)]`, `#[derive(...)]` and `#[default]` lines
belong to one side only and are ignored. A type of those crates named in
the contract without a mirror does not compile: utoipa needs `ToSchema`,
which only the mirrors derive.

Usage: python3 .ci/schemas.py   (exit 1 with each difference listed)
"""
import os
import re
import sys

SCHEMA_DIR = "crates/server/src/contract/schema"
MIRRORS = re.compile(r"^// Mirrors `(\w+)` of `(crates/[\w/.]+)`\.$")
ITEM = re.compile(r"^\s*pub (?:struct|enum) (\w+)")


def item_block(lines, name):
    """The lines of `pub struct|enum name` with the docs and attributes above it."""
    for i, line in enumerate(lines):
        m = ITEM.match(line)
        if m and m.group(1) == name:
            start = i
            while start > 0:
                above = lines[start - 1].strip()
                if above.startswith(("///", "#[")):
                    start -= 1
                elif above == ")]":
                    # A multi-line attribute: up to its `#[`.
                    start -= 1
                    while start > 0 and not lines[start].strip().startswith("#["):
                        start -= 1
                else:
                    break
            depth, end = 0, i
            for j in range(i, len(lines)):
                depth += lines[j].count("{") + lines[j].count("(") - lines[j].count("}") - lines[j].count(")")
                if depth <= 0 and ("{" in "".join(lines[i:j + 1]) or lines[j].rstrip().endswith(";")):
                    end = j
                    break
            return lines[start:end + 1]
    return None


def normalised(block):
    """The lines that must agree, with one side's extras dropped."""
    out = []
    text = "\n".join(block)
    # Multi-line derives and schema attributes belong to one side.
    text = re.sub(r"#\[derive\([^\]]*\)\]", "", text, flags=re.S)
    text = re.sub(r"#\[schema\([^\]]*\)\]", "", text, flags=re.S)
    for line in text.split("\n"):
        s = line.strip()
        if not s or s == "#[default]":
            continue
        s = re.sub(r'skip_serializing_if = "[^"]*"', 'skip_serializing_if = _', s)
        s = s.replace("pub(crate) ", "pub ")
        # Paths in types: `vergleichsring_catalog::Kind`, `crate::x::Y`, `compare::Z`.
        s = re.sub(r"\b(?:[a-z_][a-z0-9_]*::)+([A-Z]\w*)", r"\1", s)
        out.append(s)
    return out


def main():
    broken = []
    count = 0
    for f in sorted(os.listdir(SCHEMA_DIR)):
        lines = open(os.path.join(SCHEMA_DIR, f)).read().split("\n")
        for i, line in enumerate(lines):
            m = MIRRORS.match(line)
            if not m:
                continue
            name, path = m.groups()
            count += 1
            mirror = item_block(lines, name)
            if not os.path.exists(path):
                broken.append(f"{f}: {name} mirrors {path}, which does not exist")
                continue
            real = item_block(open(path).read().split("\n"), name)
            if mirror is None or real is None:
                broken.append(f"{f}: {name} not found {'here' if mirror is None else 'in ' + path}")
                continue
            a, b = normalised(real), normalised(mirror)
            if a != b:
                diff = next((k for k in range(min(len(a), len(b))) if a[k] != b[k]), min(len(a), len(b)))
                got = b[diff] if diff < len(b) else "(end)"
                want = a[diff] if diff < len(a) else "(end)"
                broken.append(f"{f}: {name} differs from {path}: mirror has `{got}` where the type has `{want}`")
    if count == 0:
        broken.append(f"no mirrors found in {SCHEMA_DIR}")
    if broken:
        print("schemas: the mirrors drifted from the types they describe:")
        for b in broken:
            print("  " + b)
        sys.exit(1)
    print(f"schemas: {count} mirrors match their types")


if __name__ == "__main__":
    main()
