#!/usr/bin/env python3
"""How soon the workers start the stage after a merge, from a trace.

Reads a trace written by myriad-tune --trace (or myr_schedule_trace_end)
and, for every merge after which every worker runs a chunk or hook before
the next merge begins (the next stage of the frame, or the next frame's
first stage), measures for each worker the time from the merge's end to its
first chunk or hook there, and how far it starts behind the first worker
to start. Prints per worker the medians, 90th percentiles and maxima in
microseconds, and how many merges were measured. (Between frames the first
gap includes the caller's own work between myr_schedule_run calls.)

Usage: trace_gaps.py TRACE.json
"""
import json
import statistics
import sys


def main():
    if len(sys.argv) != 2:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    with open(sys.argv[1]) as f:
        events = json.load(f)["traceEvents"]
    work = {}  # worker -> sorted starts of its chunks and hooks (us)
    merges = []  # (start, end)
    for e in events:
        if e.get("ph") != "X":
            continue
        if e["cat"] in ("chunk", "hook"):
            work.setdefault(e["tid"], []).append(e["ts"])
        elif e["cat"] == "merge":
            merges.append((e["ts"], e["ts"] + e["dur"]))
    for starts in work.values():
        starts.sort()
    merges.sort()
    gaps = {w: [] for w in work}
    behind = {w: [] for w in work}
    measured = 0
    for i, (_, end) in enumerate(merges):
        until = merges[i + 1][0] if i + 1 < len(merges) else float("inf")
        first = {}
        for w, starts in work.items():
            lo, hi = 0, len(starts)  # the first start after the merge's end
            while lo < hi:
                mid = (lo + hi) // 2
                if starts[mid] < end:
                    lo = mid + 1
                else:
                    hi = mid
            if lo < len(starts) and starts[lo] < until:
                first[w] = starts[lo]
        if len(first) != len(work):
            continue  # a worker had nothing to do in the next stage
        measured += 1
        earliest = min(first.values())
        for w, t in first.items():
            gaps[w].append(t - end)
            behind[w].append(t - earliest)

    def stats(v):
        v = sorted(v)
        return statistics.median(v), v[min(len(v) - 1, int(len(v) * 0.9))], v[-1]

    print(f"merges followed by work on every worker: {measured} of {len(merges)}")
    if not measured:
        return 1
    print("worker  from merge end: median  p90     max   behind the first: median  p90     max  (us)")
    for w in sorted(gaps):
        a, b, c = stats(gaps[w])
        d, e, f = stats(behind[w])
        print(f"{w:6d}  {a:22.2f}  {b:5.2f}  {c:6.1f}  {d:24.2f}  {e:5.2f}  {f:6.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
