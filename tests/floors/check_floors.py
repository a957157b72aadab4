#!/usr/bin/env python3
"""Checks the floors rule on every source file: kernels -> engine -> host -> tools / python.

A file may #include (with quotes) only headers of its own floor or of the floors below it, found
the way the build finds them (the including file's folder, then the include folders of its floor
and the floors below). The build enforces the same rule through each floor target's include
folders; this check also catches what the compiler would let through: a relative path ("../"),
which resolves anywhere, and a header name that two floors both hold (which one a bare include
picks would depend on the include order). Exit status 0 when the tree follows the rule, 1 with one
line per violation (file:line, the include, and why) otherwise.

usage: check_floors.py SOURCE_DIR
"""
import os
import re
import sys

# Floors bottom up: (name, source folders, include folders it exposes to itself and to the floors
# above). Folders are relative to the source root.
FLOORS = [
    ("kernels", ["kernels"], ["kernels"]),
    ("engine", ["engine"], ["engine"]),
    ("host", ["host"], ["host", "host/include"]),
    ("tools", ["tools"], ["tools/efbench"]),
    ("python", ["python/src"], []),
]
SOURCE_EXT = (".hpp", ".h", ".cpp", ".c", ".cu", ".cuh")
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def floor_files(root, folders):
    for folder in folders:
        top = os.path.join(root, folder)
        for dirpath, _, names in os.walk(top):
            for n in sorted(names):
                if n.endswith(SOURCE_EXT):
                    yield os.path.join(dirpath, n)


def owner(root, path):
    """Index of the floor whose source folders hold path (the deepest matching folder)."""
    rel = os.path.relpath(path, root)
    best, best_len = None, -1
    for i, (_, folders, _) in enumerate(FLOORS):
        for f in folders:
            if (rel == f or rel.startswith(f + os.sep)) and len(f) > best_len:
                best, best_len = i, len(f)
    return best


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else ".")
    problems = []
    checked = 0
    # Header names visible through each floor's include folders, to find duplicates.
    seen = {}
    for i, (name, _, incs) in enumerate(FLOORS):
        for inc in incs:
            for p in floor_files(root, [inc]):
                rel = os.path.relpath(p, os.path.join(root, inc))
                if rel in seen and seen[rel][0] != i:
                    problems.append(f"{os.path.relpath(p, root)}: header name '{rel}' also in floor "
                                    f"{FLOORS[seen[rel][0]][0]} ({seen[rel][1]}); bare includes of it are ambiguous")
                seen.setdefault(rel, (i, os.path.relpath(p, root)))
    for i, (name, folders, _) in enumerate(FLOORS):
        visible = [os.path.join(root, inc) for (_, _, incs) in FLOORS[: i + 1] for inc in incs]
        for path in floor_files(root, folders):
            with open(path, encoding="utf-8", errors="replace") as fh:
                lines = fh.readlines()
            for ln, line in enumerate(lines, 1):
                m = INCLUDE_RE.match(line)
                if not m:
                    continue
                kind, inc = m.groups()
                close = '"' if kind == '"' else ">"
                where = f"{os.path.relpath(path, root)}:{ln}: #include {kind}{inc}{close}"
                checked += 1
                if ".." in inc.split("/"):
                    problems.append(f"{where}: relative path; include by name from a floor's include folder")
                    continue
                search = ([os.path.dirname(path)] if kind == '"' else []) + visible
                hit = next((os.path.join(d, inc) for d in search
                            if os.path.isfile(os.path.join(d, inc))), None)
                if hit is None:
                    # Not one of the floors' headers at all: a system or third-party header (must be
                    # <...>), or a header of a floor above this one.
                    above = [FLOORS[j][0] for j in range(i + 1, len(FLOORS))
                             for inc_dir in FLOORS[j][2]
                             if os.path.isfile(os.path.join(root, inc_dir, inc))]
                    if above:
                        problems.append(f"{where}: upward include from floor {name} into floor {above[0]}")
                    elif kind == '"':
                        problems.append(f"{where}: not found in floor {name} or below")
                    continue
                j = owner(root, hit)
                if j is None or j > i:
                    problems.append(f"{where}: resolves to {os.path.relpath(hit, root)}, above floor {name}")
    for p in problems:
        print(p)
    if checked == 0:
        print("no #include lines found: wrong source folder?")
        return 1
    print(f"floors: {checked} includes checked, {len(problems)} problem(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
