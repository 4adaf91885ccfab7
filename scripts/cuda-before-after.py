#!/usr/bin/env python3
"""MEC before a change against after it, on the lent GPU: reads RES/SUITE_bB_before.json
(bin/mecbench_before, --algo mec) and RES/SUITE_bB.json (bin/mecbench, --algo mec with
cuDNN beside), both written by compare() in cuda-device-env.sh, and prints per layer the
MEC times and their ratios to cuDNN's fastest algorithm within MEC's workspace, with
geomeans. Usage: cuda-before-after.py RES SUITES BATCHES (comma lists)."""
import json, math, os, sys

res = sys.argv[1]
suites = sys.argv[2].split(",")
batches = [int(b) for b in sys.argv[3].split(",")]
def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")
for b in batches:
    for s in suites:
        old = {r["layer"]: r for r in json.load(open(os.path.join(res, f"{s}_b{b}_before.json")))
               if r["algo"] == "mec" and r["status"] == "ok"}
        new = json.load(open(os.path.join(res, f"{s}_b{b}.json")))
        print(f"{s} batch {b}: mec ms before / after (path), cuDNN fastest within MEC's workspace, ratios")
        rb, ra, ab = [], [], []
        for layer in dict.fromkeys(r["layer"] for r in new):
            rows = [r for r in new if r["layer"] == layer and r["status"] == "ok"]
            mec = [r for r in rows if r["algo"] == "mec"]
            cd = [r for r in rows if r["algo"] == "cudnn"]
            if not mec or layer not in old or not cd:
                continue
            m = mec[0]
            fit = [r for r in cd if r["workspace_bytes"] <= m["workspace_bytes"]] or cd
            best = min(fit, key=lambda r: r["median_ms"])
            before = old[layer]["median_ms"]
            rb.append(before / best["median_ms"]); ra.append(m["median_ms"] / best["median_ms"])
            ab.append(m["median_ms"] / before)
            print("%-9s %-30s %8.4f %8.4f %-8s %8.4f %-28s %5.2f %5.2f err %.1e" % (
                layer, m["shape"], before, m["median_ms"], m.get("variant", ""), best["median_ms"],
                best["variant"], rb[-1], ra[-1], m.get("max_rel_err") or 0))
        print("geomean mec/cuDNN before %.3f after %.3f; after/before %.3f" % (geo(rb), geo(ra), geo(ab)))
