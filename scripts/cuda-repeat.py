#!/usr/bin/env python3
"""Summary of cuda-run15.sh's repeat step: for each math and batch, per run
the geomean over the paper layers of MEC's time over cuDNN's fastest (any
workspace, and within MEC's), then per layer the spread (max / min) of
MEC's and of cuDNN's fastest time over the runs. Usage: cuda-repeat.py DIR"""
import collections, glob, json, math, os, re, sys

def geo(xs):
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")

runs = collections.defaultdict(dict)  # (math, batch) -> run -> layer -> (mec, any, within)
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*_r*.json"))):
    math_, batch, run = re.match(r"(\w+)_b(\d+)_r(\d+)\.json", os.path.basename(path)).groups()
    recs = [r for r in json.load(open(path)) if r["status"] == "ok"]
    for layer in dict.fromkeys(r["layer"] for r in recs):
        mine = [r for r in recs if r["layer"] == layer and r["algo"] == "mec"]
        peer = [r for r in recs if r["layer"] == layer and r["algo"] == "cudnn"]
        if not mine or not peer:
            continue
        m = mine[0]
        within = [p["median_ms"] for p in peer if p["workspace_bytes"] <= m["workspace_bytes"]]
        runs[(math_, int(batch))].setdefault(run, {})[layer] = (
            m["median_ms"], min(p["median_ms"] for p in peer), min(within or [float("nan")]))
for key, by_run in sorted(runs.items()):
    print(f"{key[0]} batch {key[1]}: MEC / cuDNN geomean per run (any; within)")
    for run, layers in sorted(by_run.items()):
        print(f"  run {run}: {geo([v[0] / v[1] for v in layers.values()]):.3f}; "
              f"{geo([v[0] / v[2] for v in layers.values() if v[2] == v[2]]):.3f}")
    spread = collections.defaultdict(list)
    for layers in by_run.values():
        for layer, v in layers.items():
            spread[layer].append(v)
    print("  spread max/min over runs, MEC | cuDNN: " + "  ".join(
        f"{l} {max(x[0] for x in v) / min(x[0] for x in v):.2f}|{max(x[1] for x in v) / min(x[1] for x in v):.2f}"
        for l, v in spread.items()))
