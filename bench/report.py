#!/usr/bin/env python3
"""Writes bench/run.sh's Markdown report from its per-run table (raw.tsv) and its flags.

Usage: report.py --raw raw.tsv --flags flags.tsv --title TEXT [--meta LINE]... [--label SERVER=NAME]...

One row per scenario, one column per server (the median over rounds of the scenario's figure,
with a second figure in brackets), Pulse's ratio to the best peer, then every run. A run is
INVALID with errors above kMaxErrorFraction of its requests, no requests, or a flag (a server
that died, a load generator that failed); NOISY when the CPU time that neither the server nor
the load generator used exceeds kNoisyCorePercent of one core. Exits 3 when any run is INVALID.
"""
import argparse
import csv
import statistics
import sys

kMaxErrorFraction = 0.001
kNoisyCorePercent = 5.0
kServerOrder = ["nginx", "lighttpd", "h2o", "pulse"]


def number(text):
    return None if text in ("-", "", None) else float(text)


class Run:
    """One row of raw.tsv plus the figures derived from it."""

    def __init__(self, row, flags):
        self.scenario, self.server, self.round, self.load = row["scenario"], row["server"], row["round"], row["load"]
        self.requests = int(row["requests"])
        self.errors = int(row["errors"])
        self.seconds = number(row["seconds"])
        self.bytes = number(row["bytes"])
        self.p50_us = number(row["p50_us"])
        self.cpu_s = number(row["server_cpu_s"])
        self.loadgen_s = number(row["loadgen_cpu_s"])
        self.other_pct = number(row["other_core_pct"])
        self.kib_per_conn = number(row["kib_per_conn"])
        self.flags = flags.get((self.scenario, self.server, self.round), [])
        self.invalid = bool(self.flags) or self.requests == 0 or self.errors > kMaxErrorFraction * self.requests
        self.noisy = self.other_pct is not None and self.other_pct > kNoisyCorePercent

    def rate(self):
        return self.requests / self.seconds if self.seconds else None

    def cpu_us(self):
        return self.cpu_s * 1e6 / self.requests if self.cpu_s is not None and self.requests else None

    def mb_per_s(self):
        return self.bytes / self.seconds / 1e6 if self.bytes and self.seconds else None

    def s_per_gb(self):
        return self.cpu_s / (self.bytes / 1e9) if self.cpu_s is not None and self.bytes else None


def median(values):
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def fmt_us(v):
    if v is None:
        return "n/a"
    return f"{v:.2f} µs" if v < 1 else f"{v:.1f} µs" if v < 100 else f"{v:,.0f} µs"


def fmt_count(v):
    return "n/a" if v is None else f"{v:,.0f}"


def fmt_ratio(v):
    return "n/a" if v is None else f"{v:.2f}x"


# Each scenario: its title, the headline figure (and whether lower is better), the figure in
# brackets, and whether the ratio column also compares CPU.
SCENARIOS = {
    "S1": ("S1 keep-alive 1 KiB, c50: server CPU per request (req/s)",
           Run.cpu_us, True, fmt_us, Run.rate, lambda v: f"{fmt_count(v)}/s", False),
    "S2": ("S2 HTTP/1.0 without keep-alive, c50 (ab): server CPU per connection (connections/s)",
           Run.cpu_us, True, fmt_us, Run.rate, lambda v: f"{fmt_count(v)}/s", False),
    "S3": ("S3 16 pipelined requests per write, c50: req/s (server CPU per request)",
           Run.rate, False, fmt_count, Run.cpu_us, fmt_us, True),
    "S4": ("S4 10 MiB file, c8: MB/s (server CPU per GB)",
           Run.mb_per_s, False, fmt_count, Run.s_per_gb, lambda v: "n/a" if v is None else f"{v:.2f} s", True),
    "S5": ("S5 {idle} idle keep-alive connections: KiB of server memory per connection",
           lambda r: r.kib_per_conn, True, lambda v: "n/a" if v is None else f"{v:.2f}", None, None, False),
    "S6": ("S6 1 KiB at concurrency 1: p50 latency (server CPU per request)",
           lambda r: r.p50_us, True, fmt_us, Run.cpu_us, fmt_us, False),
}


def marks(runs):
    text = ""
    invalid = sum(r.invalid for r in runs)
    noisy = sum(r.noisy for r in runs)
    if invalid:
        text += f" **INVALID {invalid}/{len(runs)}**"
    if noisy:
        text += f" NOISY {noisy}/{len(runs)}"
    return text


def best_peer(values, lower_is_better):
    """(server, value) of the best peer, or None."""
    peers = [(s, v) for s, v in values.items() if s != "pulse" and v is not None]
    if not peers:
        return None
    return (min if lower_is_better else max)(peers, key=lambda sv: sv[1])


def scenario_row(name, runs_by_server, servers, idle):
    title, headline, lower, fmt, second, fmt_second, compare_cpu = SCENARIOS[name]
    values, seconds_values, cells = {}, {}, []
    for server in servers:
        runs = runs_by_server.get(server, [])
        if not runs:
            cells.append("–")
            continue
        values[server] = median(headline(r) for r in runs)
        cell = fmt(values[server])
        if second is not None:
            seconds_values[server] = median(second(r) for r in runs)
            cell += f" ({fmt_second(seconds_values[server])})"
        cells.append(cell + marks(runs))
    ratio = "n/a"
    best = best_peer(values, lower)
    if best and values.get("pulse") is not None and best[1] > 0:
        ratio = f"{fmt_ratio(values['pulse'] / best[1])} {best[0]}"
        best_cpu = best_peer(seconds_values, True) if compare_cpu else None
        if best_cpu and seconds_values.get("pulse") is not None and best_cpu[1] > 0:
            ratio += f" (CPU {fmt_ratio(seconds_values['pulse'] / best_cpu[1])} {best_cpu[0]})"
    return [title.format(idle=f"{idle:,}")] + cells + [ratio]


def heartbeat_row(runs, servers, ids):
    static = [r for r in runs if r.load == "static"]
    beat = [r for r in runs if r.load == "beat"]
    static_cpu, beat_cpu = median(r.cpu_us() for r in static), median(r.cpu_us() for r in beat)
    ratio = beat_cpu / static_cpu if beat_cpu is not None and static_cpu else None
    cell = (f"{fmt_ratio(ratio)} (beat {fmt_us(beat_cpu)}, static {fmt_us(static_cpu)})"
            + marks(static + beat))
    cells = [cell if s == "pulse" else "–" for s in servers]
    title = f"S7 heartbeat, {ids:,} ids: server CPU per beat / per 1 KiB static request (Pulse only)"
    return [title] + cells + [f"{fmt_ratio(ratio)} a static request"]


def table(rows):
    out = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
    out += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(out)


def raw_rows(runs):
    rows = [["scenario", "server", "round", "load", "requests", "errors", "s", "req/s", "MB/s",
             "server CPU s", "CPU per unit", "p50", "load generator CPU s", "other CPU, % of a core",
             "KiB/conn", "marks"]]
    for r in runs:
        if r.scenario == "S4":
            per_unit = "n/a" if r.s_per_gb() is None else f"{r.s_per_gb():.3f} s/GB"
        elif r.scenario == "S5":
            per_unit = "–"
        else:
            per_unit = fmt_us(r.cpu_us())
        mark = ("INVALID" if r.invalid else "") + (" NOISY" if r.noisy else "")
        if r.flags:
            mark += ": " + "; ".join(r.flags)
        show = lambda v, f: "–" if v is None else f.format(v)  # noqa: E731
        rows.append([r.scenario, r.server, r.round, r.load, f"{r.requests:,}", str(r.errors),
                     show(r.seconds, "{:.2f}"),
                     "–" if r.scenario == "S5" else fmt_count(r.rate()),
                     show(r.mb_per_s(), "{:,.1f}"), show(r.cpu_s, "{:.2f}"), per_unit,
                     show(r.p50_us, "{:.1f} µs"), show(r.loadgen_s, "{:.2f}"), show(r.other_pct, "{:.1f}"),
                     show(r.kib_per_conn, "{:.2f}"), mark.strip()])
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", required=True)
    parser.add_argument("--flags", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--meta", action="append", default=[])
    parser.add_argument("--label", action="append", default=[])
    parser.add_argument("--idle", type=int, default=5000)
    parser.add_argument("--ids", type=int, default=200000)
    args = parser.parse_args()

    flags = {}
    with open(args.flags, encoding="utf-8") as f:
        for line in f:
            scenario, server, rnd, text = line.rstrip("\n").split("\t", 3)
            flags.setdefault((scenario, server, rnd), []).append(text)
    with open(args.raw, encoding="utf-8") as f:
        runs = [Run(row, flags) for row in csv.DictReader(f, delimiter="\t")]
    labels = dict(label.split("=", 1) for label in args.label)
    servers = [s for s in kServerOrder if s in labels]

    rows = [["scenario"] + [labels[s] for s in servers] + ["Pulse against the best"]]
    for name in ["S1", "S2", "S3", "S4", "S5", "S6", "S7"]:
        here = [r for r in runs if r.scenario == name]
        if not here:
            continue
        if name == "S7":
            rows.append(heartbeat_row(here, servers, args.ids))
            continue
        by_server = {}
        for r in here:
            by_server.setdefault(r.server, []).append(r)
        rows.append(scenario_row(name, by_server, servers, args.idle))

    invalid = [r for r in runs if r.invalid]
    print(f"# {args.title}\n")
    for line in args.meta:
        print(f"- {line}")
    print()
    print(table(rows))
    print()
    print("Each cell is the median over rounds. \"Pulse against the best\" divides Pulse's figure by the"
          " best peer's: for CPU, memory and latency below 1 is better; for req/s and MB/s above 1 is"
          " better. CPU is the server's user + system time from /proc/PID/stat (all threads and child"
          " processes) over the timed run, divided by the requests (S2: connections; S4: GB, 10^9"
          " bytes; MB is 10^6 bytes). "
          f"**INVALID**: errors above {kMaxErrorFraction:.1%} of the requests, no requests, or a server"
          f" that died or exited badly. NOISY: other processes used more than {kNoisyCorePercent:.0f}%"
          " of a core during the run. On a shared machine compare ratios within one run only.")
    print()
    if invalid:
        print(f"**{len(invalid)} INVALID run(s): their rows do not measure a healthy server.**\n")
    print("## Every run\n")
    print(table(raw_rows(runs)))
    return 3 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
