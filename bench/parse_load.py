#!/usr/bin/env python3
"""Reads one wrk or ab report and prints "requests seconds bytes p50_us errors" on one line.
With --detail it appends "p99_us non2xx" (wrk only; "-" for ab): bench/presence.sh divides CPU
by the 2xx responses and reports the tail.

Usage: parse_load.py wrk|ab FILE [--detail]

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
    detail = (percentile_us(text, "99"), non2xx.group(1) if non2xx else "0")
    return (int(totals.group(1)), seconds(totals.group(2)), size_bytes(totals.group(3)),
            percentile_us(text, "50"), errors, detail)


def percentile_us(text, which):
    """wrk --latency's line for `which` percent, in µs, or "-" when absent or zero."""
    match = re.search(rf"^\s*{which}%\s+([0-9.]+\w+)", text, re.M)
    if match and seconds(match.group(1)) > 0:
        return f"{seconds(match.group(1)) * 1e6:.1f}"
    return "-"


def parse_ab(text):
    def number(label):
        match = re.search(rf"^{label}:\s+([0-9.]+)", text, re.M)
        return float(match.group(1)) if match else None

    complete, taken = number("Complete requests"), number("Time taken for tests")
    if complete is None or taken is None:
        return None
    errors = int(number("Failed requests") or 0) + int(number("Non-2xx responses") or 0)
    # ab's percentiles are whole milliseconds: too coarse to report.
    return int(complete), taken, number("Total transferred") or 0.0, "-", errors, ("-", "-")


def main():
    detail = sys.argv[3:] == ["--detail"]
    if len(sys.argv) not in (3, 4) or sys.argv[1] not in ("wrk", "ab") or (len(sys.argv) == 4 and not detail):
        sys.exit("usage: parse_load.py wrk|ab FILE [--detail]")
    with open(sys.argv[2], encoding="utf-8", errors="replace") as report:
        text = report.read()
    parsed = parse_wrk(text) if sys.argv[1] == "wrk" else parse_ab(text)
    if parsed is None:
        sys.exit(f"parse_load.py: no totals in {sys.argv[2]}")
    requests, took, transferred, p50, errors, (p99, non2xx) = parsed
    line = f"{requests} {took:.3f} {transferred:.0f} {p50} {errors}"
    print(f"{line} {p99} {non2xx}" if detail else line)


if __name__ == "__main__":
    main()
