#!/usr/bin/env python3
"""Summary of cuda-run15.sh's tf32 step: per suite and batch, per layer the
best median over the rounds of MEC as chosen (now), MEC over cuBLAS
(cublas), our kernel forced (forced) and strict-fp32 MEC (fp32), all with
TF32 allowed but fp32, against cuDNN's fastest TF32 algorithm at any
workspace and within MEC's; geomeans of each over cuDNN.
Usage: cuda-tf32.py DIR"""
import collections, glob, json, math, os, re, sys

d = sys.argv[1]
def geo(xs):
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")
runs = collections.defaultdict(dict)  # (suite, batch) -> tag -> layer -> (ms, ws, path)
peer = collections.defaultdict(dict)  # (suite, batch) -> layer -> [(ms, ws, variant)]
for path in glob.glob(os.path.join(d, "*.json")):
    m = re.match(r"(\w+?)(_r\d)?_(\w+)_b(\d+)\.json", os.path.basename(path))
    tag, key = m.group(1), (m.group(3), int(m.group(4)))
    for r in json.load(open(path)):
        if r["status"] != "ok":
            continue
        if r["algo"] == "cudnn":
            peer[key].setdefault(r["layer"], []).append((r["median_ms"], r["workspace_bytes"], r["variant"]))
            continue
        if tag == "cudnn":
            tag_ = "now"
        else:
            tag_ = tag
        old = runs[key].get(tag_, {}).get(r["layer"])
        if old is None or r["median_ms"] < old[0]:
            runs[key].setdefault(tag_, {})[r["layer"]] = (r["median_ms"], r["workspace_bytes"], r["variant"])
tags = ("now", "cublas", "forced", "fp32")
for key in sorted(runs):
    print(f"{key[0]} batch {key[1]}: ms (path of now); cuDNN TF32 fastest at any workspace / within MEC's; ratios over within")
    ratios = collections.defaultdict(list)
    for layer in runs[key]["now"]:
        ms = {t: runs[key].get(t, {}).get(layer, (float("nan"), 0, ""))[0] for t in tags}
        ws = runs[key]["now"][layer][1]
        cands = peer[key].get(layer, [])
        if not cands:
            continue
        any_ = min(cands)
        within = min([c for c in cands if c[1] <= ws] or [(float("nan"), 0, "-")])
        row = "  ".join(f"{t} {ms[t]:.4f}" for t in tags)
        print(f"  {layer:10s} {row}  ({runs[key]['now'][layer][2]})  cudnn {any_[0]:.4f} {within[0]:.4f} {within[2]}")
        for t in tags:
            if ms[t] == ms[t] and within[0] == within[0]:
                ratios[t].append(ms[t] / within[0])
        ratios["now_any"].append(ms["now"] / any_[0])
    print("  geomean over within: " + "  ".join(f"{t} {geo(ratios[t]):.3f}" for t in tags) +
          f"; now over any {geo(ratios['now_any']):.3f}")
