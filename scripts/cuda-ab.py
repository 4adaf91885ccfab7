#!/usr/bin/env python3
"""Same-call A/B of two mecbench builds (cuda-run14.sh ab): reads
DIR/{before,now}_{SET}_r{R}.json, takes per layer the best median over the rounds,
prints per set the per-layer times and the geomean of now / before.
Usage: cuda-ab.py DIR SET..."""
import glob, json, math, os, sys

d, sets = sys.argv[1], sys.argv[2:]
def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")
def best(tag, s):
    out = {}
    for path in sorted(glob.glob(os.path.join(d, f"{tag}_{s}_r*.json"))):
        for r in json.load(open(path)):
            if r["status"] != "ok" or r["algo"] not in ("mec", "mec_b"):
                continue
            if r["layer"] not in out or r["median_ms"] < out[r["layer"]]:
                out[r["layer"]] = r["median_ms"]
    return out
for s in sets:
    b, n = best("before", s), best("now", s)
    ratios = [n[l] / b[l] for l in b if l in n]
    print(f"{s}: now / before geomean {geo(ratios):.3f} over {len(ratios)} layers")
    print("  " + "  ".join(f"{l} {b[l]:.4f}->{n[l]:.4f}" for l in b if l in n))
