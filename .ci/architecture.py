#!/usr/bin/env python3
"""Checks that keep the architecture as ARCHITECTURE.md draws it (issue 27).

1. Crate rules, from `cargo metadata`: every workspace crate depends only on
   crates of a lower layer (no upward or sideways edges); `audit` has no
   dependencies at all; DataFusion is a direct dependency of the engine only;
   the web stack (axum, utoipa, utoipa-axum, lettre, tower-http) is the
   server's (the other crates' answer types have mirror schemas there,
   kept in step by `.ci/schemas.py`), maud the server's and the reports'; Delta Lake and object_store are the store's; anyhow is the
   binary's.
2. DataFusion in code: outside the engine only `crates/store/src/registry.rs`
   uses it (through deltalake, to read the access log's table).
3. Every path ARCHITECTURE.md names in backticks exists, and every symbol it
   names as `Type::function` or `module::function` is defined in the code.

Usage: python3 .ci/architecture.py   (exit 1 with the broken rules listed)
"""
import json
import os
import re
import subprocess
import sys

LAYERS = {
    "vergleichsring-audit": 0,
    "vergleichsring-catalog": 1,
    "vergleichsring-ingest": 2,
    "vergleichsring-store": 2,
    "vergleichsring-synth": 2,
    "vergleichsring-engine": 3,
    "vergleichsring-report": 4,
    "vergleichsring-server": 5,
    "vergleichsring": 6,
}
OWNED = {
    "datafusion": {"vergleichsring-engine"},
    "axum": {"vergleichsring-server"},
    "utoipa": {"vergleichsring-server"},
    "utoipa-axum": {"vergleichsring-server"},
    "maud": {"vergleichsring-server", "vergleichsring-report"},
    "lettre": {"vergleichsring-server"},
    "tower-http": {"vergleichsring-server"},
    "deltalake": {"vergleichsring-store"},
    "object_store": {"vergleichsring-store"},
    "anyhow": {"vergleichsring"},
}
DATAFUSION_OUTSIDE_ENGINE = {"crates/store/src/registry.rs"}


def crate_rules(broken):
    out = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        capture_output=True, text=True, check=True,
    ).stdout
    for p in json.loads(out)["packages"]:
        name = p["name"]
        if name not in LAYERS:
            broken.append(f"{name}: a crate ARCHITECTURE.md does not place in a layer (add it to LAYERS)")
            continue
        normal = [d["name"] for d in p["dependencies"] if d.get("kind") is None]
        if name == "vergleichsring-audit" and normal:
            broken.append(f"{name} depends on {normal}; it has no dependencies")
        for dep in normal:
            if dep in LAYERS and LAYERS[dep] >= LAYERS[name]:
                broken.append(f"{name} (layer {LAYERS[name]}) depends on {dep} (layer {LAYERS[dep]})")
            if dep in OWNED and name not in OWNED[dep]:
                broken.append(f"{name} depends on {dep}, which only {sorted(OWNED[dep])} may")


def rust_files():
    for root in ["src", "crates"]:
        for dirpath, _, files in os.walk(root):
            for f in files:
                if f.endswith(".rs"):
                    yield os.path.join(dirpath, f)


def datafusion_in_code(broken):
    use = re.compile(r"\bdatafusion::")
    for path in rust_files():
        if path.startswith("crates/engine/") or path in DATAFUSION_OUTSIDE_ENGINE:
            continue
        with open(path, encoding="utf-8") as fh:
            if use.search(fh.read()):
                broken.append(f"{path} uses DataFusion; only the engine and {sorted(DATAFUSION_OUTSIDE_ENGINE)} may")


def named_in_map(broken):
    with open("ARCHITECTURE.md", encoding="utf-8") as fh:
        text = fh.read()
    # A map one reads in a sitting (issue 27): detail goes into the files.
    lines = text.count("\n")
    if lines > 200:
        broken.append(f"ARCHITECTURE.md has {lines} lines, at most 200")
    sources = {}
    for path in rust_files():
        with open(path, encoding="utf-8") as fh:
            sources[path] = fh.read()
    code = "\n".join(sources.values())
    crate_dirs = [os.path.join("crates", c) for c in os.listdir("crates")]
    for token in sorted(set(re.findall(r"`([^`\s]+)`", text))):
        if re.fullmatch(r"[\w.\-/]+\.(rs|md|toml|sql|sh|py|csv|json)|[\w.\-]+(/[\w.\-]+)+/?", token) and not token.startswith(("http", "/api", "/web", "/health", "/metrics")):
            candidates = [token, os.path.join("crates", token)] + [os.path.join(d, "src", token) for d in crate_dirs]
            if not any(os.path.exists(c) for c in candidates):
                broken.append(f"ARCHITECTURE.md names `{token}`, which does not exist")
            continue
        m = re.fullmatch(r"(\w+)::(\w+)(\(\))?", token)
        if m and not m.group(1)[0].isdigit():
            owner, item = m.group(1), m.group(2)
            crate = owner.removeprefix("vergleichsring_")
            owner_ok = (
                re.search(rf"\b(struct|enum|trait|type|mod|union)\s+{owner}\b", code)
                or os.path.exists(f"crates/{crate}")
                or any(p.endswith(f"/{owner}.rs") or p.endswith(f"/{owner}/mod.rs") for p in sources)
            )
            # A function, a type, a constant, an enum variant or a field.
            item_ok = re.search(rf"\b(fn|struct|enum|trait|type|const|static|mod)\s+{item}\b", code) or re.search(
                rf"^\s+(pub(\([^)]*\))?\s+)?{item}\b\s*[,({{:]", code, re.M
            )
            if not (owner_ok and item_ok):
                broken.append(f"ARCHITECTURE.md names `{token}`, which the code does not define")


def main():
    broken = []
    crate_rules(broken)
    datafusion_in_code(broken)
    named_in_map(broken)
    for b in broken:
        print(b)
    if broken:
        sys.exit(1)
    print("architecture: crate rules, DataFusion's places and every path and symbol ARCHITECTURE.md names hold")


if __name__ == "__main__":
    main()
