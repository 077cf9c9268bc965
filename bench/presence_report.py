#!/usr/bin/env python3
"""Writes bench/presence.sh's Markdown report from its per-run table (raw.tsv) and its flags.

Usage: presence_report.py --raw raw.tsv --flags flags.tsv --title TEXT [--ids N] [--meta LINE]...

Per scenario three rows: the memory store, the Redis store (medians over rounds), and Redis
divided by memory for every figure. CPU per beat divides the process's CPU time by the 2xx
responses. A run is INVALID and NOISY by the rules of bench/report.py (errors above 0.1%, no
requests, a flag; other processes above 5% of a core). Exits 3 when any run is INVALID.
"""
import argparse
import csv
import sys

from report import fmt_count, fmt_us, kMaxErrorFraction, kNoisyCorePercent, median, number, table

kStores = [("memory", "memory"), ("redis", "Redis")]
# Scenario: its title and what one request is called.
kScenarios = {
    "P1": ("P1 beats, c50, keep-alive: POST /heartbeat/{id}", "beat"),
    "P2": ("P2 lookups, c50, keep-alive: GET /heartbeat/{id}", "lookup"),
    "P3": ("P3 beats, c1: latency with no queueing", "beat"),
}


class Run:
    """One row of raw.tsv plus the figures derived from it."""

    def __init__(self, row, flags):
        self.scenario, self.store, self.round = row["scenario"], row["store"], row["round"]
        self.requests = int(row["requests"])
        self.non2xx = int(row["non2xx"])
        self.errors = int(row["errors"])
        self.seconds = number(row["seconds"])
        self.p50_us = number(row["p50_us"])
        self.p99_us = number(row["p99_us"])
        self.pulse_cpu_s = number(row["pulse_cpu_s"])
        self.redis_cpu_s = number(row["redis_cpu_s"])
        self.loadgen_s = number(row["loadgen_cpu_s"])
        self.other_pct = number(row["other_core_pct"])
        self.idle_pulse_pct = number(row["idle_pulse_pct"])
        self.idle_redis_pct = number(row["idle_redis_pct"])
        self.statuses = row["statuses"]  # pulsehttpd's answers of 300 and above, from /metrics
        self.flags = flags.get((self.scenario, self.store, self.round), [])
        self.invalid = bool(self.flags) or self.requests == 0 or self.errors > kMaxErrorFraction * self.requests
        self.noisy = self.other_pct is not None and self.other_pct > kNoisyCorePercent

    def ok(self):
        """2xx responses: what the CPU is divided by."""
        return max(self.requests - self.non2xx, 0)

    def rate(self):
        return self.ok() / self.seconds if self.seconds else None

    def per_ok_us(self, cpu_s):
        return cpu_s * 1e6 / self.ok() if cpu_s is not None and self.ok() else None

    def pulse_us(self):
        return self.per_ok_us(self.pulse_cpu_s)

    def redis_us(self):
        return self.per_ok_us(self.redis_cpu_s)

    def idle_pct(self):
        """CPU with the ids registered and no load: what holding them costs."""
        if self.idle_pulse_pct is None:
            return None
        return self.idle_pulse_pct + (self.idle_redis_pct or 0.0)

    def both_us(self):
        if self.pulse_cpu_s is None:
            return None
        return self.per_ok_us(self.pulse_cpu_s + (self.redis_cpu_s or 0.0))


# The figures of each row: header, value of a run, format, and whether a median is meaningful.
FIGURES = [
    ("{unit}s/s", Run.rate, lambda v: f"{fmt_count(v)}/s"),
    ("pulsehttpd CPU per {unit}", Run.pulse_us, fmt_us),
    ("Redis CPU per {unit}", Run.redis_us, fmt_us),
    ("pulsehttpd + Redis CPU per {unit}", Run.both_us, fmt_us),
    ("p50", lambda r: r.p50_us, fmt_us),
    ("p99", lambda r: r.p99_us, fmt_us),
    ("idle pulsehttpd + Redis CPU, % of a core", Run.idle_pct, lambda v: f"{v:.1f}%"),
]


def fmt_ratio(v):
    if v is None:
        return "n/a"
    return f"{v:.2f}x" if v >= 0.1 or v == 0 else f"{v:.2g}x"


def marks(runs):
    invalid = sum(r.invalid for r in runs)
    noisy = sum(r.noisy for r in runs)
    text = []
    if invalid:
        text.append(f"**INVALID {invalid}/{len(runs)}**")
    if noisy:
        text.append(f"NOISY {noisy}/{len(runs)}")
    return " ".join(text)


def scenario_rows(name, runs):
    title, unit = kScenarios[name]
    medians = {}
    rows = []
    for store, label in kStores:
        here = [r for r in runs if r.store == store]
        if not here:
            continue
        medians[store] = [median(figure(r) for r in here) for _, figure, _ in FIGURES]
        cells = [fmt(v) if v is not None else "–" for v, (_, _, fmt) in zip(medians[store], FIGURES)]
        errors = f"{sum(r.errors - r.non2xx for r in here):,} / {sum(r.non2xx for r in here):,}"
        rows.append([title if not rows else "", label] + cells + [errors, marks(here)])
    if "memory" in medians and "redis" in medians:
        ratios = []
        for memory, redis in zip(medians["memory"], medians["redis"]):
            ratios.append(fmt_ratio(redis / memory) if memory and redis is not None else "n/a")
        rows.append(["", "**Redis / memory**"] + [f"**{r}**" if r != "n/a" else r for r in ratios] + ["", ""])
    return rows, unit


def raw_rows(runs):
    rows = [["scenario", "store", "round", "requests", "non-2xx", "socket errors", "s", "2xx/s",
             "pulsehttpd CPU s", "per 2xx", "Redis CPU s", "per 2xx", "p50", "p99",
             "wrk CPU s", "other CPU, % of a core", "idle CPU, % of a core: pulsehttpd / Redis", "marks"]]
    show = lambda v, f: "–" if v is None else f.format(v)  # noqa: E731
    for r in runs:
        mark = ("INVALID" if r.invalid else "") + (" NOISY" if r.noisy else "")
        if r.flags:
            mark += ": " + "; ".join(r.flags)
        if r.statuses not in ("-", ""):
            mark += f" (statuses {r.statuses})"
        rows.append([r.scenario, r.store, r.round, f"{r.requests:,}", f"{r.non2xx:,}", f"{r.errors - r.non2xx:,}",
                     show(r.seconds, "{:.2f}"), fmt_count(r.rate()), show(r.pulse_cpu_s, "{:.2f}"),
                     fmt_us(r.pulse_us()), show(r.redis_cpu_s, "{:.2f}"),
                     fmt_us(r.redis_us()) if r.redis_cpu_s is not None else "–",
                     fmt_us(r.p50_us), fmt_us(r.p99_us), show(r.loadgen_s, "{:.2f}"),
                     show(r.other_pct, "{:.1f}"),
                     f"{show(r.idle_pulse_pct, '{:.1f}')} / {show(r.idle_redis_pct, '{:.1f}')}", mark.strip()])
    return rows


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--raw", required=True)
    parser.add_argument("--flags", required=True)
    parser.add_argument("--title", required=True)
    parser.add_argument("--meta", action="append", default=[])
    parser.add_argument("--ids", type=int, default=200000)
    args = parser.parse_args()

    flags = {}
    with open(args.flags, encoding="utf-8") as f:
        for line in f:
            scenario, store, rnd, text = line.rstrip("\n").split("\t", 3)
            flags.setdefault((scenario, store, rnd), []).append(text)
    with open(args.raw, encoding="utf-8") as f:
        runs = [Run(row, flags) for row in csv.DictReader(f, delimiter="\t")]

    print(f"# {args.title}\n")
    for line in args.meta:
        print(f"- {line}")
    print()
    for name in kScenarios:
        here = [r for r in runs if r.scenario == name]
        if not here:
            continue
        rows, unit = scenario_rows(name, here)
        header = ["scenario", "store"] + [h.format(unit=unit) for h, _, _ in FIGURES]
        header += ["socket errors / non-2xx (all rounds)", "marks"]
        print(table([header] + rows))
        print()
    print(f"Every id of {args.ids:,} was registered before the timed run, so beats update clients the"
          " store holds. Each cell is the median over rounds; the bold row divides Redis's figure by"
          " memory's (below 1 is better for CPU and latency, above 1 for the rate). CPU is user + system"
          " time from /proc/PID/stat (every thread) over the timed run, divided by the 2xx responses;"
          " Redis runs on pulsehttpd's core, so the two CPU columns add up to the server side."
          " Idle CPU is theirs over a few seconds between registering the ids and the timed run, with no"
          " load: a constant cost of holding the ids, which is part of the CPU per beat, most at c1."
          f" **INVALID**: errors above {kMaxErrorFraction:.1%} of the requests, no requests, a process"
          " that died, or pulsehttpd not exiting 0 on SIGTERM. NOISY: other processes used more than"
          f" {kNoisyCorePercent:.0f}% of a core during the run. On a shared machine compare ratios within"
          " one run only.")
    print()
    invalid = [r for r in runs if r.invalid]
    noisy = [r for r in runs if r.noisy]
    if noisy:
        print(f"**{len(noisy)} of {len(runs)} run(s) NOISY: other processes shared the cores; read the"
              " ratios, and those with care.**\n")
    if invalid:
        print(f"**{len(invalid)} INVALID run(s): their rows do not measure a healthy server.**\n")
    print("## Every run\n")
    print(table(raw_rows(runs)))
    return 3 if invalid else 0


if __name__ == "__main__":
    sys.exit(main())
