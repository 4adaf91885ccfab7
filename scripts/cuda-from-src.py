#!/usr/bin/env python3
"""Summary of cuda-run16.sh's fromsrc step: MEC with the lowering in the
kernel's copies (MEC_CUDA_FROM_SRC unset: kMec's rule, or 1: wherever it
fits) against MEC over L (MEC_CUDA_FROM_SRC=0), per suite, batch and math,
each side's best median over the rounds; and MEC / cuDNN's fastest (any
workspace; within MEC's) for both, where cuDNN ran beside.
Files: MODE_SUITE_bB_MATH_rR.json (MODE: l, auto, all; cuDNN's records in
any of them). Usage: cuda-from-src.py DIR"""
import collections, glob, json, math, os, re, sys


def geo(xs):
    xs = [x for x in xs if x == x]
    return math.exp(sum(map(math.log, xs)) / len(xs)) if xs else float("nan")


best = collections.defaultdict(dict)  # (suite, batch, math, mode) -> layer -> (ms, ws)
peer = collections.defaultdict(dict)  # (suite, batch, math) -> layer -> [(ms, ws)]
order = collections.defaultdict(list)
for path in sorted(glob.glob(os.path.join(sys.argv[1], "*.json"))):
    mode, suite, batch, math_ = re.match(r"(\w+?)_(\w+)_b(\d+)_(\w+)_r\d+\.json",
                                         os.path.basename(path)).groups()
    key = (suite, int(batch), math_)
    for r in json.load(open(path)):
        if r["status"] != "ok":
            continue
        if r["layer"] not in order[key]:
            order[key].append(r["layer"])
        if r["algo"] == "cudnn":
            peer[key].setdefault(r["layer"], []).append((r["median_ms"], r["workspace_bytes"]))
        else:
            cur = best[key + (mode,)].get(r["layer"])
            if cur is None or r["median_ms"] < cur[0]:
                best[key + (mode,)][r["layer"]] = (r["median_ms"], r["workspace_bytes"])
for key in sorted(order):
    modes = [m for m in ("l", "auto", "all") if key + (m,) in best]
    base = best.get(key + ("l",), {})
    print(f"## {key[0]} batch {key[1]} {key[2]}")
    print("layer      " + " ".join(f"{m + '_ms':>9} {m + '_MiB':>8}" for m in modes) +
          "  " + " ".join(f"{m + '/l':>7}" for m in modes[1:]))
    for layer in order[key]:
        cells = [best[key + (m,)].get(layer, (float("nan"), 0)) for m in modes]
        ratios = [c[0] / base[layer][0] if layer in base else float("nan") for c in cells[1:]]
        print(f"{layer:<10} " + " ".join(f"{c[0]:9.4f} {c[1] / 2**20:8.2f}" for c in cells) + "  " +
              " ".join(f"{x:7.3f}" for x in ratios))
    for m in modes[1:]:
        rs = [best[key + (m,)][l][0] / base[l][0] for l in base if l in best[key + (m,)]]
        print(f"{m} / l geomean {geo(rs):.3f}")
    if key in peer:
        for m in modes:
            mine = best[key + (m,)]
            anyr = [mine[l][0] / min(p[0] for p in peer[key][l]) for l in mine if l in peer[key]]
            within = [mine[l][0] / min([p[0] for p in peer[key][l] if p[1] <= mine[l][1]] or
                                       [float("nan")]) for l in mine if l in peer[key]]
            print(f"{m}: MEC / cuDNN geomean any {geo(anyr):.3f}, within {geo(within):.3f}")
