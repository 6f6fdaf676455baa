#!/usr/bin/env python3
"""Sizes a reader can hold in mind: no non-test Rust file over 600 lines and
no function over 80 lines (issue 27). Test code does not count: a file's
`#[cfg(test)]` module (from its attribute to the end of the file) and the
files under `tests/` and `benches/`, and `*tests.rs` files.

Usage: python3 .ci/sizes.py [--report]   (exit 1 when a limit is broken)
"""
import os
import re
import sys

MAX_FILE = 600
MAX_FN = 80
ROOTS = ["src", "crates"]
FN = re.compile(r"^\s*(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")


def production_lines(lines):
    """The lines before the file's test module."""
    for i, line in enumerate(lines):
        if line.strip() == "#[cfg(test)]" and i + 1 < len(lines) and re.match(r"\s*(pub(\(crate\))?\s+)?mod\s+\w+", lines[i + 1]):
            return lines[:i]
    return lines


def functions(lines):
    """(name, first line, length) of each function, by brace depth."""
    out = []
    i = 0
    while i < len(lines):
        m = FN.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        depth = 0
        opened = False
        j = i
        while j < len(lines):
            code = re.sub(r'"(\\.|[^"\\])*"', '""', lines[j].split("//")[0])
            code = re.sub(r"'(\\.|[^'\\])'", "''", code)
            depth += code.count("{") - code.count("}")
            if "{" in code:
                opened = True
            if opened and depth <= 0:
                break
            if not opened and code.rstrip().endswith(";"):
                break
            j += 1
        if opened:
            out.append((m.group(6), start + 1, j - start + 1))
        i = start + 1 if not opened else start + 1
    return out


def main():
    report = "--report" in sys.argv
    broken = []
    for root in ROOTS:
        for dirpath, _, files in os.walk(root):
            for f in files:
                if not f.endswith(".rs") or f.endswith("tests.rs") or "/tests" in dirpath or "/benches" in dirpath or "/examples" in dirpath:
                    continue
                path = os.path.join(dirpath, f)
                with open(path, encoding="utf-8") as fh:
                    lines = production_lines(fh.read().split("\n"))
                if len(lines) > MAX_FILE:
                    broken.append(f"{path}: {len(lines)} lines (at most {MAX_FILE})")
                for name, line, length in functions(lines):
                    if length > MAX_FN:
                        broken.append(f"{path}:{line}: fn {name} has {length} lines (at most {MAX_FN})")
    for b in sorted(broken):
        print(b)
    if broken and not report:
        sys.exit(1)


if __name__ == "__main__":
    main()
