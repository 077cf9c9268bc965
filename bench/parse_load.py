#!/usr/bin/env python3
"""Reads one wrk or ab report and prints "requests seconds bytes p50_us errors" on one line.

Usage: parse_load.py wrk|ab FILE

errors: wrk's socket errors (connect, read, write, timeout) plus its non-2xx/3xx responses; ab's
failed requests plus its non-2xx responses. p50_us is "-" for ab (whole milliseconds only) and
for wrk's all-zero distribution (wg/wrk#354). Exits 1 when the report has no totals.
"""
import re
import sys

TIME_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
SIZE_UNITS = {"B": 1, "KB": 1024, "MB": 1024**2, "GB": 1024**3, "TB": 1024**4}


def seconds(text):
    match = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text)
    if not match:
        raise ValueError(f"not a wrk duration: {text!r}")
    return float(match.group(1)) * TIME_UNITS[match.group(2)]


def size_bytes(text):
    match = re.fullmatch(r"([0-9.]+)(B|KB|MB|GB|TB)", text)
    if not match:
        raise ValueError(f"not a wrk size: {text!r}")
    return float(match.group(1)) * SIZE_UNITS[match.group(2)]


def parse_wrk(text):
    totals = re.search(r"^\s*(\d+) requests in ([0-9.]+\w+), ([0-9.]+\w+) read", text, re.M)
    if not totals:
        return None
    errors = 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    if sockets:
        errors += sum(int(n) for n in sockets.groups())
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if non2xx:
        errors += int(non2xx.group(1))
    p50 = "-"
    median = re.search(r"^\s*50%\s+([0-9.]+\w+)", text, re.M)
    if median and seconds(median.group(1)) > 0:
        p50 = f"{seconds(median.group(1)) * 1e6:.1f}"
    return int(totals.group(1)), seconds(totals.group(2)), size_bytes(totals.group(3)), p50, errors


def parse_ab(text):
    def number(label):
        match = re.search(rf"^{label}:\s+([0-9.]+)", text, re.M)
        return float(match.group(1)) if match else None

    complete, taken = number("Complete requests"), number("Time taken for tests")
    if complete is None or taken is None:
        return None
    errors = int(number("Failed requests") or 0) + int(number("Non-2xx responses") or 0)
    # ab's percentiles are whole milliseconds: too coarse to report.
    return int(complete), taken, number("Total transferred") or 0.0, "-", errors


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("wrk", "ab"):
        sys.exit("usage: parse_load.py wrk|ab FILE")
    with open(sys.argv[2], encoding="utf-8", errors="replace") as report:
        text = report.read()
    parsed = parse_wrk(text) if sys.argv[1] == "wrk" else parse_ab(text)
    if parsed is None:
        sys.exit(f"parse_load.py: no totals in {sys.argv[2]}")
    requests, took, transferred, p50, errors = parsed
    print(f"{requests} {took:.3f} {transferred:.0f} {p50} {errors}")


if __name__ == "__main__":
    main()
