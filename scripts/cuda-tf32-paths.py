#!/usr/bin/env python3
"""Summary of cuda-run15.sh's paths step: per suite and batch, per layer the
best median over the rounds of MEC's three TF32 paths - Solution A over
cuBLAS (a), Solution B over cuBLAS (b), our kernel where it runs (kernel) -
with the layer's q, rows n*p*q and columns k, and the geomean of each path
over the per-layer best. Usage: cuda-tf32-paths.py DIR"""
import collections, glob, json, math, os, re, sys

d = sys.argv[1]
t = collections.defaultdict(dict)  # (suite, batch, layer) -> path -> ms
shapes = {}
for path in glob.glob(os.path.join(d, "*_r*.json")):
    tag, suite, batch = re.match(r"(\w+?)_(\w+)_b(\d+)_r\d\.json", os.path.basename(path)).groups()
    for r in json.load(open(path)):
        if r["status"] == "ok":
            key = (suite, int(batch), r["layer"])
            shapes[key] = r["shape"]
            t[key][tag] = min(t[key].get(tag, 1e9), r["median_ms"])
paths = ("a", "b", "kernel")
groups = collections.defaultdict(list)
for key in sorted(t, key=lambda k: (k[0], k[1])):
    v = t[key]
    best = min(v.values())
    dims = dict((a, int(b)) for a, b in re.findall(r"([a-z])(\d+)", shapes[key]))
    pad, stride = dims.get("p", 0), dims.get("u", 1)
    q = (dims["w"] + 2 * pad - dims["s"]) // stride + 1
    p = (dims["h"] + 2 * pad - dims["r"]) // stride + 1
    print(f"{key[0]} b{key[1]} {key[2]:9s} q {q:3d} rows {dims['n'] * p * q:8d} k {dims['k']:5d}  " +
          "  ".join(f"{x} {v.get(x, float('nan')):.4f}" for x in paths))
    groups[key[:2]].append(v)
for g, vs in sorted(groups.items()):
    out = []
    for x in paths:
        rs = [v[x] / min(v.values()) for v in vs if x in v]
        out.append(f"{x} {math.exp(sum(map(math.log, rs)) / len(rs)):.3f}")
    print(f"{g[0]} b{g[1]} over the best path:", "  ".join(out))
