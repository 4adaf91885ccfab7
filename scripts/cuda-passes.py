#!/usr/bin/env python3
"""Run 14's sweep of MEC's images per pass (cuda-run14.sh passes): reads
DIR/mibX_SUITE_rR.json (--algo mec with L capped at X MiB per pass, X = 0: one pass)
and DIR/cudnn_SUITE.json (cuDNN beside the one-pass MEC), prints per layer the median
ms (best of the rounds) and workspace of each cap, and the geomeans of: time over
the one-pass time, and MEC over cuDNN's fastest within the one-pass workspace and
within the cap's own. Usage: cuda-passes.py DIR SUITES "X..." """
import glob, json, math, os, sys

d, suites, mibs = sys.argv[1], sys.argv[2].split(","), sys.argv[3].split()
def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")
def load(path):
    return [r for r in json.load(open(path)) if r["status"] == "ok"]
for s in suites:
    runs = {}
    for mib in mibs:
        for path in sorted(glob.glob(os.path.join(d, f"mib{mib}_{s}_r*.json"))):
            for r in load(path):
                if r["algo"] != "mec":
                    continue
                old = runs.setdefault(mib, {}).get(r["layer"])
                if old is None or r["median_ms"] < old["median_ms"]:
                    runs[mib][r["layer"]] = r
    cd = load(os.path.join(d, f"cudnn_{s}.json"))
    base = runs.get(mibs[0], {})
    print(f"{s} batch 32: ms (workspace MiB) per cap on L per pass; cuDNN fastest within one-pass ws")
    print(f"{'layer':10}" + "".join(f"{'cap ' + m:>20}" for m in mibs) + f"{'cudnn':>10}")
    ratio = {m: [] for m in mibs}
    within_base = {m: [] for m in mibs}
    within_own = {m: [] for m in mibs}
    for layer, b in base.items():
        fit = lambda ws: [r for r in cd if r["layer"] == layer and r["algo"] == "cudnn"
                          and r["workspace_bytes"] <= ws]
        best_base = min((r["median_ms"] for r in fit(b["workspace_bytes"])), default=None)
        line = f"{layer:10}"
        for m in mibs:
            r = runs.get(m, {}).get(layer)
            if r is None:
                line += f"{'-':>20}"
                continue
            line += f"{r['median_ms']:>11.4f} ({r['workspace_bytes'] / 2**20:6.1f})"
            ratio[m].append(r["median_ms"] / b["median_ms"])
            if best_base:
                within_base[m].append(r["median_ms"] / best_base)
            own = min((x["median_ms"] for x in fit(r["workspace_bytes"])), default=None)
            if own:
                within_own[m].append(r["median_ms"] / own)
        print(line + f"{best_base or float('nan'):>10.4f}")
    for name, table in (("time / one pass", ratio), ("mec / cudnn within one-pass ws", within_base),
                        ("mec / cudnn within own ws", within_own)):
        print(f"{'geo ' + name:34}" + "".join(f"{geo(table[m]):>8.3f}" for m in mibs))
    print()
