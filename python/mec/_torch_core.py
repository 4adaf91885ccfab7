"""The machinery under mec.torch: argument rules, the plan cache, the shared
workspaces and the three passes over tensor addresses (mec._mec.AddressPlan).

It exists apart from mec/torch.py so that the public module holds only the
API (conv2d, Conv2d, convert) while the per-call path, which must stay within
a few microseconds of libmec's own run time, lives in one place. libmec takes
src and dst as NHWC only: a channels_last tensor is passed as it is, an NCHW
tensor is copied into NHWC (and the output back), weights are passed as they
are (OIHW when contiguous, OHWI when channels_last). See docs/python.md.
"""
import threading

import torch

from ._mec import AddressPlan

CL = torch.channels_last
F32 = torch.float32

# Plans shared by every caller, keyed by everything a plan depends on; layers
# keep their own dictionaries of the same plans (Conv2d._mec_plans) so that
# the report can name each layer's plans. Bounded: the oldest entries go.
_plans = {}
_MAX_PLANS = 4096
# (device, thread ident, stream) -> (uint8 tensor, address, bytes).
_workspaces = {}
# Keys libmec answered kUnsupported, with its message.
_unsupported = {}
_lock = threading.Lock()


def is_channels_last(t):
    """torch's suggest_memory_format() for 4-D tensors (c10's
    is_channels_last_strides_2d_s4), which F.conv2d uses to pick the output's
    memory format; ambiguous strides count as NCHW, as there."""
    # The common, unambiguous cases first: two flag reads.
    cl, nchw = t.is_contiguous(memory_format=CL), t.is_contiguous()
    if cl != nchw:
        return cl
    st, sz = t.stride(), t.shape
    if st[1] == 0:
        return False
    low = 0
    for d in (1, 3, 2, 0):
        if st[d] < low:
            return False
        if d == 0 and low == st[1]:
            return False
        low = st[d] * sz[d] if sz[d] > 1 else st[d]
    return True


def pair(value, name):
    if type(value) is int:
        return value, value
    if isinstance(value, (tuple, list)) and len(value) == 1:
        return int(value[0]), int(value[0])
    if isinstance(value, (tuple, list)) and len(value) == 2:
        return int(value[0]), int(value[1])
    raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")


def padding_of(padding, stride, dilation, r, s):
    """(top, bottom, left, right), PyTorch's rules: "valid" is none, "same"
    pads dilation * (kernel - 1) per axis, the odd one at the end (bottom,
    right), and only for stride 1 (RuntimeError otherwise, as F.conv2d)."""
    if type(padding) is str:
        if padding == "valid":
            return 0, 0, 0, 0
        if padding != "same":
            raise RuntimeError(f"Invalid padding string: '{padding}'")
        if stride != (1, 1):
            raise RuntimeError("padding='same' is not supported for strided convolutions")
        th, tw = dilation[0] * (r - 1), dilation[1] * (s - 1)
        return th // 2, th - th // 2, tw // 2, tw - tw // 2
    ph, pw = pair(padding, "padding")
    return ph, ph, pw, pw


def check_tensors(x, w, b):
    """TypeError for anything but float32 tensors, ValueError for ranks and
    channel counts, RuntimeError for tensors on different devices."""
    for t, name in ((x, "input"), (w, "weight"), (b, "bias")):
        if t is None:
            continue
        if not isinstance(t, torch.Tensor):
            raise TypeError(f"mec.torch: {name} must be a torch.Tensor, got {type(t).__name__}")
        if t.dtype is not F32:
            raise TypeError(f"mec.torch: {name} must be torch.float32, got {t.dtype} "
                            "(libmec computes in float32 only; use torch.nn.functional.conv2d "
                            "for other dtypes)")
        if t.device != x.device:
            raise RuntimeError(f"mec.torch: {name} is on {t.device} but input is on {x.device}")
    if x.dim() != 4:
        raise ValueError(f"mec.torch: input must have 3 (unbatched) or 4 dimensions, got shape "
                         f"{tuple(x.shape)}")
    if w.dim() != 4:
        raise ValueError(f"mec.torch: weight must have 4 dimensions, got shape {tuple(w.shape)}")
    if b is not None and tuple(b.shape) != (w.shape[0],):
        raise ValueError(f"mec.torch: bias must have shape ({w.shape[0]},), got {tuple(b.shape)}")


def geometry(x, w, stride, padding, dilation, groups):
    """The 16 integers of AddressPlan's descriptor (n at least 1: libmec has
    no empty batch, which mec.torch handles itself)."""
    n, c, h, wd = x.shape
    k, cg, r, s = w.shape
    if cg * groups != c:
        raise ValueError(f"mec.torch: weight of shape {tuple(w.shape)} with groups={groups} "
                         f"expects {cg * groups} input channels, got {c}")
    st = pair(stride, "stride")
    dl = pair(dilation, "dilation")
    pt, pb, pl, pr = padding_of(padding, st, dl, r, s)
    return (max(n, 1), c, h, wd, k, r, s, pt, pb, pl, pr, st[0], st[1], dl[0], dl[1], groups)


def device_key(device):
    """(kind, index, stream): plans and workspaces of a CUDA device are bound
    to the stream that is current when they are used."""
    if device.type == "cpu":
        return ("cpu", 0, 0)
    if device.type == "cuda":
        stream = torch.cuda.current_stream(device).cuda_stream
        return ("cuda", device.index if device.index is not None else 0, stream)
    raise NotImplementedError(f"mec.torch: tensors on {device} are not supported (cpu, cuda)")


def get_plan(geo, layout, pass_, opts, dev, layer):
    """The cached plan of this key, made (and announced to the layer's report)
    on first use; this thread's shared workspace grows to its need at once,
    so that backward plans made at the forward size it before the backward."""
    threads = torch.get_num_threads() if dev[0] == "cpu" else 0
    key = (geo, layout, pass_, opts, threads, dev)
    cache = _plans if layer is None else layer._mec_plans
    plan = cache.get(key)
    if plan is not None:
        return plan
    plan = _plans.get(key)
    if plan is None:
        if key in _unsupported:
            raise NotImplementedError(_unsupported[key])
        try:
            plan = AddressPlan(list(geo), layout, pass_, opts[0], threads, opts[1], opts[2],
                               dev[0], dev[1], dev[2])
        except ValueError as e:
            raise ValueError(f"mec.torch: {e}") from None
        except NotImplementedError as e:
            # Remembered: a CUDA backend without backward passes is asked
            # at every training step.
            _unsupported[key] = str(e)
            raise
        with _lock:
            if len(_plans) >= _MAX_PLANS:
                del _plans[next(iter(_plans))]
            _plans[key] = plan
    if layer is not None:
        cache[key] = plan
        if layer._mec_report is not None:
            layer._mec_report._add(layer._mec_name, pass_, geo, plan, dev)
    workspace(torch.device("cpu") if dev[0] == "cpu" else torch.device("cuda", dev[1]), dev,
              plan.workspace_bytes)
    return plan


def workspace(device, dev, need):
    """(address, bytes) of this device's, thread's (and stream's) shared
    workspace, grown to `need` bytes when smaller: a uint8 tensor from
    torch's allocator, replaced (not copied) when it grows."""
    key = (dev, threading.get_ident())
    ws = _workspaces.get(key)
    if ws is not None and ws[2] >= need:
        return ws[1], ws[2]
    if need == 0:
        return 0, 0
    t = torch.empty(need, dtype=torch.uint8, device=device)
    _workspaces[key] = (t, t.data_ptr(), need)
    return t.data_ptr(), need


def nhwc(t):
    """t itself when it is NHWC in memory (channels_last), else an NHWC copy:
    libmec's src and dst are NHWC."""
    return t if t.is_contiguous(memory_format=CL) else t.contiguous(memory_format=CL)


def weights_of(w):
    """(tensor, layout): OIHW when contiguous, OHWI (channels_last) as it is,
    anything else copied to OIHW."""
    if w.is_contiguous():
        return w, "OIHW"
    if w.is_contiguous(memory_format=CL):
        return w, "OHWI"
    return w.contiguous(), "OIHW"


def forward(x, w, b, geo, opts, layer):
    """(y, src, weights, layout): the convolution, y in the memory format
    F.conv2d gives (channels_last if input or weight is), and the NHWC input
    and the weights as libmec read them (for the backward passes)."""
    xs = nhwc(x)
    wl, layout = weights_of(w)
    dev = device_key(x.device)
    plan = get_plan(geo, layout, "fwd", opts, dev, layer)
    n = x.shape[0]
    # F.conv2d's empty outputs are contiguous, whatever the formats.
    y = torch.empty((n, geo[4], plan.p, plan.q), dtype=F32, device=x.device,
                    memory_format=CL if n else torch.contiguous_format)
    if n:
        if b is not None and not b.is_contiguous():
            b = b.contiguous()
        ws, nbytes = workspace(x.device, dev, plan.workspace_bytes)
        plan.forward(xs.data_ptr(), wl.data_ptr(), 0 if b is None else b.data_ptr(),
                     y.data_ptr(), ws, nbytes)
    if n and not (is_channels_last(x) or is_channels_last(w)):
        y = y.contiguous()
    return y, xs, wl, layout


def plan_backward(geo, layout, w_cl, opts, dev, layer, need_data, need_weights):
    """Makes the backward plans a training step will run, at its forward, so
    that the shared workspace has its full size before the backward."""
    try:
        if need_data:
            get_plan(geo, layout, "bwd_data", opts, dev, layer)
        if need_weights:
            get_plan(geo, "OHWI" if w_cl else "OIHW", "bwd_weights", opts, dev, layer)
    except NotImplementedError:
        # A CUDA backend without backward passes: the backward takes torch's.
        if dev[0] == "cpu":
            raise


def backward(gy, xs, wl, layout, geo, opts, layer, x_cl, w_cl, x_shape, needs):
    """(dx, dw, db) on the CPU for the inputs `needs` asks for: dx from the
    backward-data pass, dw and db from the backward-weights pass (db alone is
    a sum). dx and dw have the memory formats of the input and the weight, as
    torch's own gradients; dw is written in that layout (OHWI for
    channels_last), never copied."""
    need_x, need_w, need_b = needs
    dev = device_key(gy.device)
    dx = dw = db = None
    n = x_shape[0]
    w_format = CL if w_cl else torch.contiguous_format
    if n == 0:
        if need_x:
            dx = torch.empty(x_shape, dtype=F32, device=gy.device,
                             memory_format=CL if x_cl else torch.contiguous_format)
        if need_w:
            dw = torch.empty(wl.shape, dtype=F32, device=gy.device,
                             memory_format=w_format).zero_()
        if need_b:
            db = torch.zeros(geo[4], dtype=F32, device=gy.device)
        return dx, dw, db
    dys = nhwc(gy)
    if need_x:
        plan = get_plan(geo, layout, "bwd_data", opts, dev, layer)
        dx = torch.empty(x_shape, dtype=F32, device=gy.device, memory_format=CL)
        ws, nbytes = workspace(gy.device, dev, plan.workspace_bytes)
        plan.backward_data(dys.data_ptr(), wl.data_ptr(), dx.data_ptr(), ws, nbytes)
        if not x_cl:
            dx = dx.contiguous()
    if need_w:
        plan = get_plan(geo, "OHWI" if w_cl else "OIHW", "bwd_weights", opts, dev, layer)
        dw = torch.empty(wl.shape, dtype=F32, device=gy.device, memory_format=w_format)
        if need_b:
            db = torch.empty(geo[4], dtype=F32, device=gy.device)
        ws, nbytes = workspace(gy.device, dev, plan.workspace_bytes)
        plan.backward_weights(xs.data_ptr(), dys.data_ptr(), dw.data_ptr(),
                              0 if db is None else db.data_ptr(), ws, nbytes)
    elif need_b:
        db = gy.sum((0, 2, 3))
    return dx, dw, db


def shared_workspaces():
    """{(device key, thread ident): uint8 tensor}: the shared workspaces."""
    return {k: v[0] for k, v in _workspaces.items()}


def release():
    """Drops every cached plan and shared workspace (they are remade on use)."""
    with _lock:
        _plans.clear()
        _workspaces.clear()
        _unsupported.clear()
