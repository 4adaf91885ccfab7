"""The per-call overhead of mec.torch (docs/python.md, "Per-call overhead"):
mec.torch.conv2d and mec.torch.Conv2d on a small layer (n=1, 16 channels,
8x8, 16 filters of 3x3, padding 1) against the same libmec plan called
directly through AddressPlan.forward (libmec's run plus one pybind11 call),
and F.conv2d. Rounds are interleaved and the best of each is kept, since
the machine may be shared. Run: python3 -m mec.overhead
"""
import time

import torch
import torch.nn.functional as F

from . import _torch_core as core
from . import torch as mt


def main():
    torch.manual_seed(0)
    n, c, h, w, k = 1, 16, 8, 8, 16
    x, wt, b = torch.randn(n, c, h, w), torch.randn(k, c, 3, 3), torch.randn(k)
    xcl = x.contiguous(memory_format=torch.channels_last)
    geo = core.geometry(xcl, wt, 1, 1, 1, 1)
    plan = core.get_plan(geo, "OIHW", "fwd", ("auto", None, "model"),
                         core.device_key(x.device), None)
    y = torch.empty(n, k, h, w, memory_format=torch.channels_last)
    ws = torch.empty(max(plan.workspace_bytes, 1), dtype=torch.uint8)
    args = (xcl.data_ptr(), wt.data_ptr(), b.data_ptr(), y.data_ptr(), ws.data_ptr(),
            plan.workspace_bytes)
    xg = xcl.clone().requires_grad_()
    layer = mt.Conv2d(c, k, 3, padding=1).to(memory_format=torch.channels_last)
    calls = {
        "AddressPlan.forward (libmec's run + pybind11)": lambda: plan.forward(*args),
        "mt.conv2d, channels_last": lambda: mt.conv2d(xcl, wt, b, padding=1),
        "mt.conv2d, NCHW (two transposing copies)": lambda: mt.conv2d(x, wt, b, padding=1),
        "mt.conv2d, channels_last, autograd node": lambda: mt.conv2d(xg, wt, b, padding=1),
        "mt.Conv2d, channels_last, no_grad": lambda: layer(xcl),
        "F.conv2d, channels_last": lambda: F.conv2d(xcl, wt, b, padding=1),
        "F.conv2d, NCHW": lambda: F.conv2d(x, wt, b, padding=1),
    }
    best = dict.fromkeys(calls, float("inf"))
    for call in calls.values():
        for _ in range(300):
            call()
    reps = 1000
    for _ in range(15):
        for name, call in calls.items():
            with torch.no_grad() if "no_grad" in name else torch.enable_grad():
                start = time.perf_counter()
                for _ in range(reps):
                    call()
                best[name] = min(best[name], (time.perf_counter() - start) / reps * 1e6)
    print(f"plan {plan.variant}, workspace {plan.workspace_bytes} bytes, "
          f"{torch.get_num_threads()} threads")
    base = best["AddressPlan.forward (libmec's run + pybind11)"]
    for name, t in best.items():
        print(f"{name:48s} {t:7.2f} us  (+{t - base:5.2f})")


if __name__ == "__main__":
    main()
