"""One measured run of mec.netbench, in a process of its own.

mec.netbench starts this (python3 -m mec.netbench ... --_one KIND --_out
FILE) once per variant, so that each variant's peak memory, allocator state,
thread pools and plan caches are its own. Every process builds the same
model (torch.manual_seed before the constructor) and the same input and
labels (seeded generators on the CPU), so that the variants differ only in
what KIND says:
  native          torch's own convolutions (cuDNN benchmark off on CUDA)
  native_bench    the same with torch.backends.cudnn.benchmark on (CUDA)
  mec             the model converted by mec.torch.convert
  native64        torch's own model in float64: the reference of the first
                  step's outputs and gradients, not timed
It writes to FILE (torch.save): the first step's output and, in training
mode, every parameter's gradient; every step's time; the peak memory; the
converted model's per-layer plans. See docs/python.md.
"""
import os
import resource
import time

import torch
import torch.nn.functional as F
import torchvision

SEED = 0
KINDS = ("native", "native_bench", "mec", "native64")


def build(model_name, batch, image, layout, device, dtype):
    """(model, input): the seeded model in its layout, dtype and device, and
    the seeded input (generated on the CPU in float32, then converted, so
    that every variant gets the same values)."""
    torch.manual_seed(SEED)
    model = torchvision.models.get_model(model_name, weights=None)
    gen = torch.Generator().manual_seed(SEED + 1)
    x = torch.randn(batch, 3, image, image, generator=gen)
    fmt = torch.channels_last if layout == "nhwc" else torch.contiguous_format
    model = model.to(device=device, dtype=dtype, memory_format=fmt)
    x = x.to(device=device, dtype=dtype).contiguous(memory_format=fmt)
    return model, x


def main_output(out):
    """The tensor a model's result stands for: itself, the "out" entry of a
    segmentation model's dict, the logits of GoogLeNet's and Inception's
    training-mode tuples."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, dict):
        return out["out"] if "out" in out else next(iter(out.values()))
    return out[0]


def loss_of(y, labels):
    """Cross-entropy against the seeded labels for (N, classes) outputs, the
    mean square otherwise."""
    if y.dim() == 2:
        return F.cross_entropy(y, labels)
    return y.square().mean()


def labels_for(y):
    gen = torch.Generator().manual_seed(SEED + 2)
    return torch.randint(0, y.shape[1], (y.shape[0],), generator=gen).to(y.device)


def peak_rss_bytes():
    """The process's peak resident set: ru_maxrss is in KiB on Linux."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def rss_bytes():
    """The process's resident set now (/proc/self/statm), 0 elsewhere."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def blas_libraries():
    """The BLAS libraries mapped into this process (/proc/self/maps): torch's
    and libmec's share whichever libopenblas.so.0 was loaded first."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "blas" in line.split()[-1]}
    except (OSError, IndexError):
        return []
    return sorted(paths)


def busy_cpu_s():
    """(every CPU's busy seconds from /proc/stat, this process's CPU
    seconds): their difference over the timed steps is what other processes
    took from the machine meanwhile."""
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...
        busy = sum(fields[:3]) + sum(fields[5:8])
        total = busy / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        total = 0.0
    t = os.times()
    return total, t.user + t.system


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def run_one(args):
    """Builds, (for mec) converts, runs warmup + steps and writes the
    results to args._out."""
    kind = args._one
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = kind == "native_bench"
    dtype = torch.float64 if kind == "native64" else torch.float32
    t0 = time.perf_counter()
    model, x = build(args.model, args.batch, args.image, args.layout, device, dtype)
    conv_layers = [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]
    build_s = time.perf_counter() - t0
    train = args.mode == "train"
    model.train(train)
    report = None
    convert_s = 0.0
    if kind == "mec":
        import mec.torch as mt
        t0 = time.perf_counter()
        mt.convert(model, workspace_limit=args.workspace_limit)
        convert_s = time.perf_counter() - t0
        report = mt.report(model)
    rss_after_build = rss_bytes()
    # The reference runs the first step only.
    total = 1 if kind == "native64" else args.warmup + args.steps
    times = []
    saved = {}
    labels = None
    timed_from = 0 if kind == "native64" else args.warmup
    for step in range(total):
        if step == timed_from:
            if device.type == "cuda":
                torch.cuda.reset_peak_memory_stats(device)
            busy0, own0, wall0 = busy_cpu_s() + (time.perf_counter(),)
        sync(device)
        t0 = time.perf_counter()
        if train:
            model.zero_grad(set_to_none=True)
            y = main_output(model(x))
            if labels is None:
                labels = labels_for(y)
            loss_of(y, labels).backward()
        else:
            with torch.no_grad():
                y = main_output(model(x))
        sync(device)
        times.append(time.perf_counter() - t0)
        if step == 0:
            saved["output"] = y.detach().cpu()
            if train:
                saved["grads"] = {n: p.grad.detach().cpu() for n, p in model.named_parameters()
                                  if p.grad is not None}
        del y
    busy1, own1 = busy_cpu_s()
    cpu_wall = (time.perf_counter() - wall0) * (os.cpu_count() or 1)
    result = {
        "kind": kind,
        "threads": torch.get_num_threads(),
        "dtype": str(dtype).replace("torch.", ""),
        "build_s": build_s,
        "convert_s": convert_s,
        "step_times_s": times,
        "timed_from": timed_from,
        "rss_after_build_bytes": rss_after_build,
        "peak_rss_bytes": peak_rss_bytes(),
        "conv_layers": conv_layers,
        "blas_libraries": blas_libraries(),
        # The share of the machine's CPU time other processes used during
        # the timed steps (0: the steps had the machine to themselves).
        "others_cpu_share": max(0.0, (busy1 - busy0) - (own1 - own0)) / cpu_wall,
    }
    if device.type == "cuda":
        result["cudnn_benchmark"] = torch.backends.cudnn.benchmark
        result["cuda_peak_allocated_bytes"] = torch.cuda.max_memory_allocated(device)
        result["cuda_peak_reserved_bytes"] = torch.cuda.max_memory_reserved(device)
        result["gpu"] = torch.cuda.get_device_name(device)
    if report is not None:
        import mec.torch as mt
        dev_name = "cpu" if device.type == "cpu" else f"cuda:{device.index or 0}"
        result["mec"] = {
            "converted": list(report.converted),
            "native": [list(p) for p in report.native],
            "layers": [{"name": p.name, "pass": p.pass_, "input_shape": list(p.input_shape),
                        "algorithm": p.algorithm, "variant": p.variant,
                        "workspace_bytes": p.workspace_bytes, "device": p.device}
                       for p in report.plans],
            "workspace_bytes": report.workspace_bytes(dev_name),
            "shared_workspace_bytes": sum(t.numel() for t in mt.shared_workspaces().values()),
        }
    torch.save({"result": result, "saved": saved}, args._out)
