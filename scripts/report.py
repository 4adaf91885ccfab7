#!/usr/bin/env python3
"""Turns mecbench JSON records into results/report.md and PNG plots.

Runs nothing itself: `make bench` runs mecbench (the paper suite at batch 1
on one thread and at batch 32 on all threads, and the k/s sweep) and then
this script, e.g.

  python3 scripts/report.py --paper results/paper_b1_t1.json \
      --paper results/paper_b32.json --ks results/ks_sweep.json --out results

Plots (PNG, in --out):
  workspace.png  (a) memory overhead per layer per algorithm, log scale
  runtime.png    (b) median runtime per layer per algorithm, log scale
  ks.png         (c) MEC and im2col memory overhead and runtime against k/s
The report states the machine (CPU model and cores from /proc/cpuinfo, the
BLAS from the build's CMakeCache.txt), the date, the tables behind every
plot, and where the paper's claims hold on this machine and where not.

Memory overhead = workspace_bytes + the plan memory beyond one copy of the
weights (FFT's kernel spectra, Winograd's transformed kernels), since with
--packed (mecbench's default) those live in the plan, not the workspace.
"""
import argparse
import datetime
import json
import math
import os
import platform
import re
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

MIB = 1024.0 * 1024.0
# Plot and table order; anything else mecbench ran comes after.
ALGO_ORDER = ["mec", "mec_bands", "mec_a", "mec_b", "im2col", "fft", "winograd", "winograd_f2",
              "winograd_f4", "direct", "auto"]
INDIRECT = ["im2col", "fft", "winograd", "winograd_f2", "winograd_f4"]
# Libraries users would pick instead (mecbench --peer): direct methods.
PEERS = ["onednn", "xnnpack"]
# One colour per algorithm in every plot.
COLORS = {"mec": "C0", "im2col": "C1", "fft": "C2", "winograd": "C3", "direct": "C4",
          "auto": "C5", "winograd_f2": "C6", "winograd_f4": "C7", "mec_a": "C8", "mec_b": "C9",
          "onednn": "0.25", "xnnpack": "0.6", "mec_bands": "navy"}


def parse_shape(text):
    """mecbench's shape strings: <key><int> tokens (see shape_string.h)."""
    fields = dict(n=1, h=1, w=1, c=1, k=1, r=1, s=1, g=1)
    for key, value in re.findall(r"([a-z]+)(\d+)", text):
        fields[key] = int(value)
    return fields


def weight_bytes(shape):
    f = parse_shape(shape)
    return 4 * f["k"] * f["r"] * f["s"] * (f["c"] // f["g"])


def overhead_bytes(rec):
    extra = max(0, rec.get("persistent_bytes", 0) - weight_bytes(rec["shape"]))
    return rec["workspace_bytes"] + extra


def load(paths):
    records = []
    for path in paths:
        with open(path) as f:
            records.extend(json.load(f))
    # MEC in row bands (mecbench --mec-bands) is its own series.
    for r in records:
        if r.get("mec_band_rows", 0) > 0 and r["algo"] == "mec":
            r["algo"] = "mec_bands"
    return [r for r in records if r.get("device", "cpu") == "cpu"]


def ordered(names):
    known = [a for a in ALGO_ORDER if a in names]
    return known + sorted(n for n in names if n not in ALGO_ORDER)


def layer_key(name):
    m = re.match(r"([a-z]+)(\d+)(?:s(\d+))?", name)
    return (m.group(1), int(m.group(2)), int(m.group(3) or 0)) if m else (name, 0, 0)


def settings(records):
    """Groups records by (batch, threads): one mecbench run each."""
    groups = {}
    for r in records:
        groups.setdefault((r["batch"], r["threads"]), []).append(r)
    return [(key, groups[key]) for key in sorted(groups)]


def table(records, value, fmt):
    """Markdown table: one row per layer, one column per algorithm."""
    ok = [r for r in records if r["status"] == "ok"]
    layers = sorted({r["layer"] for r in records}, key=layer_key)
    algos = ordered({r["algo"] for r in records})
    cell = {(r["layer"], r["algo"]): r for r in ok}
    lines = ["| layer | " + " | ".join(algos) + " |", "|---" * (len(algos) + 1) + "|"]
    for layer in layers:
        row = []
        for a in algos:
            r = cell.get((layer, a))
            row.append(fmt(value(r)) if r else "unsupported")
        lines.append(f"| {layer} | " + " | ".join(row) + " |")
    return "\n".join(lines)


def bar_plot(ax, records, value, ylabel, title):
    ok = [r for r in records if r["status"] == "ok"]
    layers = sorted({r["layer"] for r in records}, key=layer_key)
    algos = ordered({r["algo"] for r in records})
    cell = {(r["layer"], r["algo"]): value(r) for r in ok}
    width = 0.8 / max(1, len(algos))
    for i, a in enumerate(algos):
        xs, ys = [], []
        for j, layer in enumerate(layers):
            v = cell.get((layer, a))
            if v is not None and v > 0:
                xs.append(j + (i - (len(algos) - 1) / 2) * width)
                ys.append(v)
        if ys:
            ax.bar(xs, ys, width, label=a, color=COLORS.get(a))
        else:
            ax.bar([], [], width, label=f"{a} (0, not shown)", color=COLORS.get(a))
    ax.set_yscale("log")
    ax.set_xticks(range(len(layers)))
    ax.set_xticklabels(layers, rotation=45)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(axis="y", which="both", alpha=0.3)
    ax.legend(fontsize=7, ncol=2)


def setting_name(key):
    batch, threads = key
    return f"batch {batch}, {threads} thread{'s' if threads > 1 else ''}"


def plot_paper(groups, out, value, ylabel, filename, title):
    fig, axes = plt.subplots(len(groups), 1, figsize=(11, 4.2 * len(groups)), squeeze=False)
    for ax, (key, recs) in zip(axes[:, 0], groups):
        bar_plot(ax, recs, value, ylabel, f"{title} ({setting_name(key)})")
    fig.tight_layout()
    fig.savefig(os.path.join(out, filename), dpi=110)
    plt.close(fig)


def ks_points(records, algo):
    pts = []
    for r in records:
        if r["algo"] != algo or r["status"] != "ok":
            continue
        f = parse_shape(r["shape"])
        stride = f.get("u", f.get("uw", 1))
        pts.append((f["s"] / stride, f["s"], stride, overhead_bytes(r) / MIB, r["median_ms"]))
    return sorted(pts)


def plot_ks(records, out):
    fig, (ax_mem, ax_time, ax_ratio) = plt.subplots(1, 3, figsize=(15, 4.5))
    for algo, marker in (("mec", "o"), ("im2col", "s")):
        pts = ks_points(records, algo)
        if not pts:
            continue
        for ax, i in ((ax_mem, 3), (ax_time, 4)):
            ax.scatter([p[0] for p in pts], [p[i] for p in pts], marker=marker, label=algo,
                       color=COLORS[algo])
    mec = {(p[1], p[2]): p for p in ks_points(records, "mec")}
    im2col = {(p[1], p[2]): p for p in ks_points(records, "im2col")}
    both = sorted(set(mec) & set(im2col), key=lambda ks: (ks[0] / ks[1], ks[0]))
    ax_ratio.scatter([k / s for k, s in both], [im2col[ks][3] / mec[ks][3] for ks in both],
                     label="memory: im2col / mec")
    ax_ratio.scatter([k / s for k, s in both], [im2col[ks][4] / mec[ks][4] for ks in both],
                     marker="x", label="time: im2col / mec")
    ax_ratio.axhline(1.0, color="gray", lw=0.8)
    for ax, ylabel, title in ((ax_mem, "memory overhead (MiB)", "memory overhead"),
                              (ax_time, "median runtime (ms)", "runtime"),
                              (ax_ratio, "im2col / mec", "im2col over MEC")):
        ax.set_xlabel("k / s (kernel size / stride)")
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    ax_mem.set_yscale("log")
    ax_time.set_yscale("log")
    if records:
        r = records[0]
        f = parse_shape(r["shape"])
        fig.suptitle(f"k/s sweep: input {f['h']}x{f['w']}x{f['c']}, {f['k']} filters, "
                     f"{setting_name((r['batch'], r['threads']))}")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "ks.png"), dpi=110)
    plt.close(fig)
    return both, mec, im2col


def machine(build_dir):
    model, cores = platform.processor() or "unknown", os.cpu_count()
    try:
        with open("/proc/cpuinfo") as f:
            text = f.read()
        m = re.search(r"^model name\s*:\s*(.+)$", text, re.M)
        model = m.group(1).strip() if m else model
        cores = len(re.findall(r"^processor\s*:", text, re.M)) or cores
    except OSError:
        pass
    blas = "unknown (no CMakeCache.txt)"
    try:
        with open(os.path.join(build_dir, "CMakeCache.txt")) as f:
            m = re.search(r"^MEC_BLAS_LIBRARY:[A-Z]+=(.+)$", f.read(), re.M)
            blas = m.group(1) if m else blas
    except OSError:
        pass
    return model, cores, blas


def claims(groups):
    """Per setting: where MEC beats each indirect method in memory and time."""
    lines = []
    for key, recs in groups:
        cell = {(r["layer"], r["algo"]): r for r in recs if r["status"] == "ok"}
        layers = sorted({r["layer"] for r in recs}, key=layer_key)
        lines.append(f"\n**{setting_name(key)}**\n")
        others = INDIRECT + ["direct"] + PEERS
        for ours, other in [(m, a) for m in ("mec", "mec_bands") for a in others
                            if any(r["algo"] == a for r in recs)]:
            pairs = [(l, cell[(l, ours)], cell[(l, other)]) for l in layers
                     if (l, ours) in cell and (l, other) in cell]
            if not pairs:
                continue
            less = [l for l, m, o in pairs if overhead_bytes(m) < overhead_bytes(o)]
            faster = [l for l, m, o in pairs if m["median_ms"] < o["median_ms"]]
            slower = [f"{l} ({m['median_ms'] / o['median_ms']:.2f}x)" for l, m, o in pairs
                      if m["median_ms"] >= o["median_ms"]]
            geo = math.exp(sum(math.log(m["median_ms"] / o["median_ms"]) for _, m, o in pairs)
                           / len(pairs))
            mem = (f"less memory on {len(less)}/{len(pairs)} layers"
                   if other in INDIRECT else f"{other} needs (almost) no workspace")
            name = "MEC" if ours == "mec" else "MEC in row bands"
            lines.append(f"- {name} vs {other}: {mem}; faster on {len(faster)}/{len(pairs)} "
                         f"(geomean time ratio {ours}/{other} = {geo:.2f})"
                         + (f"; slower on {', '.join(slower)}" if slower else ""))
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paper", action="append", default=[], help="mecbench JSON, paper suite")
    ap.add_argument("--ks", action="append", default=[], help="mecbench JSON, k/s sweep")
    ap.add_argument("--out", default="results", help="output directory")
    ap.add_argument("--build", default="build", help="build directory (for the BLAS name)")
    args = ap.parse_args()
    if not args.paper and not args.ks:
        ap.error("give at least one --paper or --ks JSON file")
    os.makedirs(args.out, exist_ok=True)
    paper, ks = load(args.paper), load(args.ks)
    groups = settings(paper)
    model, cores, blas = machine(args.build)

    md = ["# mec: benchmark report", ""]
    md.append(f"- Date: {datetime.date.today().isoformat()} (report generated; JSON from "
              + ", ".join(f"`{os.path.basename(p)}`" for p in args.paper + args.ks) + ")")
    md.append(f"- Machine: {model}, {cores} logical CPUs, {platform.system()} "
              f"{platform.release()}")
    md.append(f"- BLAS: `{blas}`")
    md.append("- Times: mecbench medians (ms); memory overhead: workspace plus plan memory "
              "beyond one copy of the weights (MiB).")
    if groups:
        plot_paper(groups, args.out, lambda r: overhead_bytes(r) / MIB, "memory overhead (MiB)",
                   "workspace.png", "Memory overhead per layer")
        plot_paper(groups, args.out, lambda r: r["median_ms"], "median runtime (ms)",
                   "runtime.png", "Runtime per layer")
        md += ["", "## Paper claims on this machine", "",
               "The paper (Cho and Brand 2017) claims that MEC needs less memory than im2col, "
               "FFT and Winograd and runs faster than them (mobile: batch 1, one thread; server: "
               "batch 32, all cores). Per setting, layer by layer, from the tables below "
               "(a layer counts only where both algorithms ran):", claims(groups)]
        md += ["", "## (a) Memory overhead", "", "![memory overhead](workspace.png)"]
        for key, recs in groups:
            md += ["", f"### {setting_name(key)} (MiB)", "",
                   table(recs, lambda r: overhead_bytes(r) / MIB, lambda v: f"{v:.2f}")]
        md += ["", "## (b) Runtime", "", "![runtime](runtime.png)"]
        for key, recs in groups:
            md += ["", f"### {setting_name(key)} (median ms)", "",
                   table(recs, lambda r: r["median_ms"], lambda v: f"{v:.3f}")]
    if ks:
        both, mec, im2col = plot_ks(ks, args.out)
        md += ["", "## (c) Memory and runtime against k/s (MEC vs im2col)", "",
               "![k/s](ks.png)", "",
               "| k | s | k/s | im2col MiB | mec MiB | memory im2col/mec | im2col ms | mec ms "
               "| time im2col/mec |", "|---" * 9 + "|"]
        for k, s in both:
            i, m = im2col[(k, s)], mec[(k, s)]
            md.append(f"| {k} | {s} | {k / s:.2f} | {i[3]:.2f} | {m[3]:.2f} | {i[3] / m[3]:.2f} "
                      f"| {i[4]:.3f} | {m[4]:.3f} | {i[4] / m[4]:.2f} |")
    with open(os.path.join(args.out, "report.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    print(f"report: wrote {os.path.join(args.out, 'report.md')}", file=sys.stderr)


if __name__ == "__main__":
    main()
