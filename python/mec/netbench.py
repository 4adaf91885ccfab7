"""python3 -m mec.netbench: a whole torchvision network with torch's own
convolutions ("native") against the same network converted by
mec.torch.convert ("mec"): step time, peak memory, and how far the first
step's outputs and gradients differ.

It exists to measure mec.torch where it is meant to be used, on whole models
rather than single layers (tests/python/torch_overhead.py times one call).
Each variant runs in a fresh process of this module (--_one KIND, the work
of mec._netbench_measure), one after the other, on the same seeded weights,
input and labels; this process compares what they saved, prints a summary
and the converted model's per-layer plans, and writes everything, with the
machine, to --json FILE. Bad arguments and unknown models exit 2.
See docs/python.md ("Whole networks: mec.netbench").
"""
import argparse
import datetime
import json
import os
import shlex
import statistics
import subprocess
import sys
import tempfile

_SUFFIX = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
# A parameter's gradient counts as vanishing below this fraction of the
# model's largest gradient element (compare()).
VANISHING = 1e-6
# torchvision's model families whose input is one image batch.
_FAMILIES = ("", "segmentation")


def parse_bytes(text):
    """An int with an optional k, M or G suffix (powers of 1024)."""
    t = text.strip()
    mult = _SUFFIX.get(t[-1:].lower(), 1)
    if mult > 1:
        t = t[:-1]
    try:
        value = int(t) * mult
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a byte count: {text!r} (an int with an "
                                         "optional k, M or G suffix)") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"a byte count must not be negative: {text!r}")
    return value


def positive(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an int: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def nonnegative(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an int: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
    return value


def parser():
    p = argparse.ArgumentParser(
        prog="python3 -m mec.netbench",
        description="A torchvision model with torch's convolutions against the same model "
                    "converted by mec.torch.convert, each in a fresh process: step time, peak "
                    "memory, differences of outputs and gradients, the per-layer plans.")
    p.add_argument("--model", required=True,
                   help="a torchvision.models constructor name (resnet50, mobilenet_v2, ...)")
    p.add_argument("--batch", type=positive, default=8)
    p.add_argument("--mode", choices=("infer", "train"), default="infer")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--workspace-limit", type=parse_bytes, default=None,
                   help="mec.torch.convert's workspace_limit in bytes (k/M/G suffixes)")
    p.add_argument("--layout", choices=("nchw", "nhwc"), default="nchw",
                   help="nhwc: model and input in torch.channels_last")
    p.add_argument("--threads", type=positive, default=None,
                   help="torch.set_num_threads in every process (default: torch's)")
    p.add_argument("--steps", type=positive, default=None,
                   help="timed steps (default 5 on cpu, 20 on cuda)")
    p.add_argument("--warmup", type=nonnegative, default=None,
                   help="untimed steps first (default 1 on cpu, 5 on cuda)")
    p.add_argument("--image", type=positive, default=224, help="input height and width")
    p.add_argument("--f64-reference", action="store_true",
                   help="also run the native model in float64 (first step only) and report "
                        "both float32 variants' distance from it")
    p.add_argument("--json", metavar="FILE", help="write all results to FILE")
    p.add_argument("--_one", choices=("native", "native_bench", "mec", "native64"),
                   help=argparse.SUPPRESS)
    p.add_argument("--_out", help=argparse.SUPPRESS)
    return p


def supported_models():
    import torchvision.models as tm
    names = []
    for family in _FAMILIES:
        names += tm.list_models(module=getattr(tm, family) if family else tm)
    return names, tm.list_models()


def check_args(p, args):
    """Exits 2 (argparse's error) for a model this tool cannot run or a
    device torch does not have; fills the device-dependent defaults."""
    try:
        import torch  # noqa: F401
        import torchvision  # noqa: F401
    except ImportError as e:
        p.error(f"mec.netbench needs torch and torchvision: {e}")
    names, every = supported_models()
    if args.model not in names:
        if args.model in every:
            p.error(f"model {args.model!r} takes another kind of input than one image batch "
                    "(classification and segmentation models only)")
        p.error(f"unknown model {args.model!r}; torchvision's are: " + ", ".join(sorted(names)))
    if args.device == "cuda":
        import torch
        if not torch.cuda.is_available():
            p.error("--device cuda: CUDA is not available to torch")
    if args.steps is None:
        args.steps = 5 if args.device == "cpu" else 20
    if args.warmup is None:
        args.warmup = 1 if args.device == "cpu" else 5


def child_argv(args, kind, out):
    # torch is imported before mec: the process's libopenblas.so.0 is then
    # torch's (Debian's pthreads build); libmec's, loaded first, is the
    # OpenMP build, on which torch's own BLAS calls spin (docs/python.md).
    argv = [sys.executable, "-c", "import sys, torch; from mec.netbench import main; "
            "sys.exit(main())", "--model", args.model, "--batch",
            str(args.batch), "--mode", args.mode, "--device", args.device, "--layout",
            args.layout, "--steps", str(args.steps), "--warmup", str(args.warmup), "--image",
            str(args.image), "--_one", kind, "--_out", out]
    if args.threads:
        argv += ["--threads", str(args.threads)]
    if args.workspace_limit is not None:
        argv += ["--workspace-limit", str(args.workspace_limit)]
    return argv


def run_children(args, kinds):
    """{kind: (result, saved)} from one fresh process per kind, in order."""
    import torch
    out = {}
    with tempfile.TemporaryDirectory(prefix="mec-netbench-") as tmp:
        for kind in kinds:
            path = os.path.join(tmp, kind + ".pt")
            print(f"running {kind} ...", file=sys.stderr, flush=True)
            proc = subprocess.run(child_argv(args, kind, path), stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True)
            if proc.returncode != 0 or not os.path.exists(path):
                sys.stderr.write(proc.stdout[-8000:])
                sys.exit(f"mec.netbench: the {kind} run failed (exit status {proc.returncode})")
            data = torch.load(path)
            out[kind] = (data["result"], data["saved"])
    return out


def rel_diff(a, b):
    """max |a - b| / max |b|, in float64 (b the reference); the absolute
    difference where b is all zeros."""
    a, b = a.double(), b.double()
    if a.shape != b.shape:
        return float("inf")
    diff = (a - b).abs().max().item() if a.numel() else 0.0
    scale = b.abs().max().item() if b.numel() else 0.0
    return diff / scale if scale > 0 else diff


def compare(saved, ref):
    """Outputs' relative difference and, in training mode, every parameter's
    gradient's: the largest with its parameter's name, and the largest over
    the parameters whose reference gradient is not vanishing (its largest
    element at least VANISHING times the model's largest gradient element:
    a bias followed by a 1x1 convolution and training-mode batch norm, as in
    MobileNet-v2, has an exactly zero gradient, whose rounding noise makes
    any relative difference huge)."""
    res = {"outputs_max_rel_diff": rel_diff(saved["output"], ref["output"])}
    if "grads" not in ref:
        return res
    got, want = saved.get("grads", {}), ref["grads"]
    diffs = {}
    for n in sorted(set(want) | set(got)):
        g, r = got.get(n), want.get(n)
        diffs[n] = float("inf") if g is None or r is None else rel_diff(g, r)
    scale = {n: r.abs().max().item() if r.numel() else 0.0 for n, r in want.items()}
    top = max(scale.values(), default=0.0)
    vanishing = sorted(n for n, v in scale.items() if v < VANISHING * top)
    for key, names in (("", diffs), ("_nonvanishing", [n for n in diffs if n not in vanishing])):
        worst = max(names, key=lambda n: diffs[n], default=None)
        res["grads_max_rel_diff" + key] = diffs[worst] if worst else 0.0
        res["grads_max_rel_diff" + key + "_param"] = worst
    res["grads_vanishing"] = vanishing
    res["grads_rel_diff"] = diffs
    return res


def median_step(result):
    timed = result["step_times_s"][result["timed_from"]:]
    return statistics.median(timed) if timed else float("nan")


def peak_memory(result):
    return result.get("cuda_peak_allocated_bytes", result["peak_rss_bytes"])


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    import platform
    return platform.processor() or platform.machine()


def machine(runs):
    import torch
    import torchvision
    import mec
    first = next(iter(runs.values()))[0]
    m = {"cpu_model": cpu_model(), "cpu_count": os.cpu_count(),
         "threads": first["threads"], "torch": torch.__version__,
         "torchvision": torchvision.__version__, "mec": mec.__version__,
         "python": sys.version.split()[0]}
    if "gpu" in first:
        m["gpu"] = first["gpu"]
    return m


def summarise(args, runs, load_before):
    """The JSON document: settings, machine (with the load average before and
    after the runs: other processes slow every run), per-run results,
    comparisons."""
    settings = {k: getattr(args, k) for k in ("model", "batch", "mode", "device", "layout",
                                              "threads", "steps", "warmup", "image",
                                              "workspace_limit", "f64_reference")}
    doc = {"command": " ".join(["python3", "-m", "mec.netbench"] +
                               [shlex.quote(a) for a in sys.argv[1:]]),
           "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
           "settings": settings, "machine": machine(runs), "runs": {}, "comparison": {}}
    doc["machine"]["loadavg_before"] = load_before
    doc["machine"]["loadavg_after"] = list(os.getloadavg())
    for kind, (result, _) in runs.items():
        r = {k: v for k, v in result.items() if k not in ("mec", "conv_layers")}
        if kind != "native64":
            r["median_step_s"] = median_step(result)
            r["min_step_s"] = min(result["step_times_s"][result["timed_from"]:])
            r["peak_memory_bytes"] = peak_memory(result)
            r["peak_memory_kind"] = ("cuda_max_memory_allocated"
                                     if "cuda_peak_allocated_bytes" in result else "ru_maxrss")
        doc["runs"][kind] = r
    doc["conv_layers"] = runs["native"][0]["conv_layers"]
    doc["mec"] = runs["mec"][0]["mec"]
    natives = [k for k in ("native", "native_bench") if k in runs]
    mec_r = doc["runs"]["mec"]
    for kind in natives:
        n_r = doc["runs"][kind]
        c = {"time_ratio": mec_r["median_step_s"] / n_r["median_step_s"],
             "memory_ratio": mec_r["peak_memory_bytes"] / n_r["peak_memory_bytes"]}
        c.update(compare(runs["mec"][1], runs[kind][1]))
        doc["comparison"][f"mec_vs_{kind}"] = c
    if "native_bench" in runs:
        doc["comparison"]["native_bench_vs_native"] = compare(runs["native_bench"][1],
                                                              runs["native"][1])
    if "native64" in runs:
        for kind in natives + ["mec"]:
            doc["comparison"][f"{kind}_vs_native64"] = compare(runs[kind][1],
                                                               runs["native64"][1])
    return doc


def _mib(b):
    return f"{b / (1 << 20):.1f} MiB"


def _diffs(c):
    text = f"outputs {c['outputs_max_rel_diff']:.2e}"
    if "grads_max_rel_diff" in c:
        text += f", gradients {c['grads_max_rel_diff']:.2e} ({c['grads_max_rel_diff_param']})"
        if c["grads_vanishing"]:
            text += (f"; {c['grads_max_rel_diff_nonvanishing']:.2e} "
                     f"({c['grads_max_rel_diff_nonvanishing_param']}) without the "
                     f"{len(c['grads_vanishing'])} vanishing ones")
    return text


def layer_table(mec_doc):
    """The converted model's per-layer plans, as mec.torch's report prints
    them, and the shared workspace."""
    from ._torch_report import ConvertReport, LayerPlan
    rep = ConvertReport(None, "auto")
    rep.converted, rep.native = mec_doc["converted"], [tuple(p) for p in mec_doc["native"]]
    rep.plans = [LayerPlan(r["name"], r["pass"], tuple(r["input_shape"]), r["algorithm"],
                           r["variant"], r["workspace_bytes"], r["device"])
                 for r in mec_doc["layers"]]
    lines = str(rep).splitlines()
    lines[-1 - len(rep.native)] = (f"{len(rep.converted)} layers on libmec, {len(rep.plans)} "
                                   f"plans; shared workspace {mec_doc['shared_workspace_bytes']} "
                                   f"bytes (largest plan {mec_doc['workspace_bytes']})")
    return "\n".join(lines)


def print_summary(doc):
    s, m, runs = doc["settings"], doc["machine"], doc["runs"]
    print(f"{s['model']}, batch {s['batch']}, {s['image']}x{s['image']}, {s['mode']}, "
          f"{s['layout']}, {s['device']}, {m['threads']} threads; median of {s['steps']} steps "
          f"after {s['warmup']}; load average {m['loadavg_before'][0]:.2f} before, "
          f"{m['loadavg_after'][0]:.2f} after")
    print(f"{m['cpu_model']}" + (f", {m['gpu']}" if "gpu" in m else "") +
          f"; torch {m['torch']}, torchvision {m['torchvision']}, mec {m['mec']}")
    mem_kind = "CUDA peak allocated" if s["device"] == "cuda" else "peak RSS"
    print(f"{'run':<14}{'step ms':>10}{'(min)':>10}{mem_kind:>22}{'others CPU':>12}")
    for kind, r in runs.items():
        if kind == "native64":
            continue
        print(f"{kind:<14}{r['median_step_s'] * 1e3:>10.1f}{r['min_step_s'] * 1e3:>10.1f}"
              f"{_mib(r['peak_memory_bytes']):>22}{r['others_cpu_share']:>12.0%}")
    for key, c in doc["comparison"].items():
        if "time_ratio" in c:
            print(f"{key}: time {c['time_ratio']:.3f}x, memory {c['memory_ratio']:.3f}x; "
                  f"max relative difference: {_diffs(c)}")
        else:
            print(f"{key}: max relative difference: {_diffs(c)}")
    print()
    print(layer_table(doc["mec"]))


def main(argv=None):
    p = parser()
    args = p.parse_args(argv)
    if args._one:
        from ._netbench_measure import run_one
        if not args._out:
            p.error("--_one needs --_out")
        run_one(args)
        return 0
    check_args(p, args)
    kinds = ["native"] + (["native_bench"] if args.device == "cuda" else []) + ["mec"]
    if args.f64_reference:
        kinds.append("native64")
    load_before = list(os.getloadavg())
    runs = run_children(args, kinds)
    doc = summarise(args, runs, load_before)
    print_summary(doc)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
