#!/usr/bin/env python3
"""Summary of a step that ran mecbench once per variant and round into
DIR/NAME_rR.json (cuda-run16.sh's wide step, cuda-run17.sh's rgb step,
cuda-run18.sh's bigq step):
per layer each variant's best median over the rounds, and each over the
first variant's; then the geomean of those ratios.
Usage: cuda-variants.py DIR NAME..."""
import glob, json, math, os, sys

d, names = sys.argv[1], sys.argv[2:]
t, layers = {}, []
for path in glob.glob(os.path.join(d, "*.json")):
    name = os.path.basename(path).rsplit("_r", 1)[0]
    for r in json.load(open(path)):
        if r["status"] == "ok":
            t[(name, r["layer"])] = min(t.get((name, r["layer"]), 1e9), r["median_ms"])
            if r["layer"] not in layers:
                layers.append(r["layer"])
base = names[0]
print("layer      " + " ".join(f"{n:>9}" for n in names) + f"  (ms; each over {base})")
for l in layers:
    b = t.get((base, l), float("nan"))
    print(f"{l:<10} " + " ".join(f"{t.get((n, l), float('nan')):9.4f}" for n in names) + "  " +
          " ".join(f"{t.get((n, l), float('nan')) / b:.3f}" for n in names[1:]))
for n in names[1:]:
    rs = [t[(n, l)] / t[(base, l)] for l in layers if (n, l) in t and (base, l) in t]
    print(n, f"over {base}, geomean",
          f"{math.exp(sum(map(math.log, rs)) / len(rs)):.3f}" if rs else "-")
