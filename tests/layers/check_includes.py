#!/usr/bin/env python3
"""Keeps the layers: fails when a file includes a Pulse header from a layer it may not use.

A file's layer is the folder under include/pulse/ or src/ it lives in (the longest match, so
handlers/static is its own layer, not part of handlers). docs/ARCHITECTURE.md explains the rules.
Usage: check_includes.py [ROOT]   (default: the repository this file is in). Exit 1 on a violation.
"""
import pathlib
import re
import sys

# What each layer may include, itself included. app/ wires everything and may include anything.
ALLOWED = {
    "base": {"base"},
    "net": {"base", "net"},
    "http": {"base", "net", "http"},
    "presence": {"base", "presence"},
    "handlers/static": {"base", "http", "handlers/static"},
    "handlers/heartbeat": {"base", "http", "presence", "handlers/heartbeat"},
    "handlers": {"base", "http", "presence", "handlers/static", "handlers/heartbeat", "handlers"},
    "app": None,
}
# Longest first, so that "handlers/static/x.hpp" is in handlers/static and not in handlers.
LAYERS = sorted(ALLOWED, key=len, reverse=True)
INCLUDE = re.compile(r'^\s*#\s*include\s*[<"]pulse/([^">]+)[">]')
# A quoted include that is not "pulse/...": a relative path ("../net/io.hpp") would slip past
# the rules, so Pulse headers are always named from include/.
QUOTED = re.compile(r'^\s*#\s*include\s*"(?!pulse/)([^"]+)"')
SOURCE_SUFFIXES = {".hpp", ".h", ".cpp", ".cc"}
# hiredis stays inside the Redis store's sources: its headers never reach a public header or
# another layer, so nothing else can call Redis (and block) behind the store's back.
HIREDIS = re.compile(r'^\s*#\s*include\s*[<"](hiredis/)?(hiredis|async|read|sds|net)\.h[">]')
HIREDIS_HOME = "src/presence/redis/"


def layer_of(relative_path):
    """The layer of a path relative to include/pulse/ or src/, or None when it is in none."""
    for layer in LAYERS:
        if relative_path == layer or relative_path.startswith(layer + "/"):
            rest = relative_path[len(layer) + 1:]
            # A new feature folder under handlers/ is no part of handlers/: it must be given
            # its own row above before it can pass.
            if layer == "handlers" and "/" in rest:
                return None
            return layer
    return None


def violations(root):
    root = pathlib.Path(root)
    found = []
    for top in (root / "include" / "pulse", root / "src"):
        if not top.is_dir():
            continue
        for path in sorted(top.rglob("*")):
            if path.suffix not in SOURCE_SUFFIXES or not path.is_file():
                continue
            relative = path.relative_to(top).as_posix()
            layer = layer_of(relative)
            if layer is None:
                found.append(f"{path.relative_to(root)}: in no known layer ({', '.join(sorted(ALLOWED))})")
                continue
            allowed = ALLOWED[layer]
            for number, line in enumerate(path.read_text(encoding="utf-8", errors="replace").splitlines(), 1):
                if HIREDIS.match(line) and not path.relative_to(root).as_posix().startswith(HIREDIS_HOME):
                    found.append(f"{path.relative_to(root)}:{number}: includes hiredis; only {HIREDIS_HOME} may")
                    continue
                quoted = QUOTED.match(line)
                if quoted:
                    found.append(f"{path.relative_to(root)}:{number}: includes \"{quoted.group(1)}\"; name Pulse "
                                 f"headers \"pulse/<layer>/...\" and others with <...>")
                    continue
                match = INCLUDE.match(line)
                if not match:
                    continue
                target = layer_of(match.group(1))
                if target is None:
                    found.append(f"{path.relative_to(root)}:{number}: includes pulse/{match.group(1)}, in no known layer")
                elif allowed is not None and target not in allowed:
                    found.append(f"{path.relative_to(root)}:{number}: {layer}/ may not include {target}/ "
                                 f"(pulse/{match.group(1)}); it may use {', '.join(sorted(allowed))}")
    return found


def main(argv):
    root = argv[1] if len(argv) > 1 else pathlib.Path(__file__).resolve().parents[2]
    found = violations(root)
    for line in found:
        print(line)
    if found:
        print(f"check_includes: {len(found)} layer violation(s)")
        return 1
    print("check_includes: every #include respects the layers")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
