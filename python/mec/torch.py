"""mec.torch: libmec's convolutions for PyTorch tensors.

conv2d has torch.nn.functional.conv2d's signature and semantics and is
differentiable (input, weight and bias gradients from libmec's backward
passes); Conv2d is a torch.nn.Conv2d that convolves through it; convert()
turns every nn.Conv2d of a model into one, all running on one shared
workspace per device and thread, and reports what each layer runs. Data
goes through tensor addresses (mec._mec.AddressPlan), so one build serves
every torch version. float32 only; CPU, and CUDA where libmec has its CUDA
backend (gradients from torch's own convolution where that backend has no
backward passes).
See docs/python.md.
"""
import warnings

import torch
import torch.nn.functional as F

from . import _torch_core as core
from ._torch_report import ConvertReport, LayerPlan

__all__ = ["conv2d", "Conv2d", "convert", "report", "ConvertReport", "LayerPlan",
           "shared_workspaces", "release"]

_DEFAULT_OPTS = ("auto", None, "model")  # algo, workspace_limit, auto_mode


class _Conv2dFunction(torch.autograd.Function):
    """The autograd node: libmec's forward, backward-data and
    backward-weights passes; on a CUDA device whose libmec backend lacks the
    backward passes, torch's own convolution gradients."""

    @staticmethod
    def forward(ctx, x, w, b, geo, args, opts, layer):
        y, xs, wl, layout = core.forward(x, w, b, geo, opts, layer)
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        dev = core.device_key(x.device)
        ctx.w_cl = core.is_channels_last(w)
        core.plan_backward(geo, layout, ctx.w_cl, opts, dev, layer, need_x, need_w)
        ctx.geo, ctx.args, ctx.opts, ctx.layer, ctx.layout = geo, args, opts, layer, layout
        ctx.x_cl, ctx.x_shape, ctx.has_bias = core.is_channels_last(x), x.shape, b is not None
        ctx.save_for_backward(xs, wl)
        return y

    @staticmethod
    def backward(ctx, gy):
        # create_graph=True would need the gradients' own graph, which
        # libmec's passes do not build: refused rather than silently flat.
        if torch.is_grad_enabled():
            raise RuntimeError("mec.torch.conv2d: double backward (create_graph=True) is not "
                               "supported; use torch.nn.functional.conv2d for it")
        a, w = ctx.saved_tensors
        needs = (ctx.needs_input_grad[0], ctx.needs_input_grad[1],
                 ctx.has_bias and ctx.needs_input_grad[2])
        try:
            dx, dw, db = core.backward(gy, a, w, ctx.layout, ctx.geo, ctx.opts, ctx.layer,
                                       ctx.x_cl, ctx.w_cl, ctx.x_shape, needs)
        except NotImplementedError:
            if gy.device.type == "cpu":
                raise
            dx, dw, db = _native_backward(gy, a, w, ctx.has_bias, ctx.args, needs)
            if dx is not None and not ctx.x_cl:
                dx = dx.contiguous()
        return dx, dw, db, None, None, None, None


def _native_backward(gy, x, w, has_bias, args, needs):
    """The gradients by torch's own convolution, for a CUDA libmec without
    backward passes: the forward recomputed under autograd, then
    differentiated, so that every padding rule is torch's exactly."""
    with torch.enable_grad():
        xg = x.detach().requires_grad_(needs[0])
        wg = w.detach().requires_grad_(needs[1])
        bg = torch.zeros(w.shape[0], dtype=w.dtype, device=w.device,
                         requires_grad=needs[2]) if has_bias else None
        y = F.conv2d(xg, wg, bg, *args)
        inputs = [t for t, need in zip((xg, wg, bg), needs) if need]
        grads = iter(torch.autograd.grad(y, inputs, gy) if inputs else ())
    return tuple(next(grads) if need else None for need in needs)


def _conv(x, w, b, stride, padding, dilation, groups, opts, layer):
    if x.dim() == 3:
        return _conv(x.unsqueeze(0), w, b, stride, padding, dilation, groups, opts,
                     layer).squeeze(0)
    core.check_tensors(x, w, b)
    geo = core.geometry(x, w, stride, padding, dilation, groups)
    if torch.is_grad_enabled() and (x.requires_grad or w.requires_grad or
                                    (b is not None and b.requires_grad)):
        return _Conv2dFunction.apply(x, w, b, geo, (stride, padding, dilation, groups), opts,
                                     layer)
    return core.forward(x, w, b, geo, opts, layer)[0]


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, *,
           algo="auto", workspace_limit=None, auto_mode="model"):
    """torch.nn.functional.conv2d through libmec: the same arguments and
    results (padding ints, pairs, "same", "valid"; NCHW or channels_last,
    the output in the input's memory format), differentiable. float32 only
    (TypeError otherwise). algo, workspace_limit (bytes) and auto_mode are
    libmec's (mec.conv2d); plans are cached per shape and settings."""
    opts = _DEFAULT_OPTS if (algo == "auto" and workspace_limit is None and
                             auto_mode == "model") else (algo, workspace_limit, auto_mode)
    return _conv(input, weight, bias, stride, padding, dilation, groups, opts, None)


class Conv2d(torch.nn.Conv2d):
    """torch.nn.Conv2d convolving through libmec: the same constructor,
    parameters and state_dict, plus keyword-only algo, workspace_limit and
    auto_mode. padding_mode other than "zeros" runs torch's own convolution.
    Plans are made at the first call of each input shape and kept here
    (reported by convert()'s report)."""

    def __init__(self, *args, algo="auto", workspace_limit=None, auto_mode="model", **kwargs):
        super().__init__(*args, **kwargs)
        self._mec_setup("", algo, workspace_limit, auto_mode, None)

    def _mec_setup(self, name, algo, workspace_limit, auto_mode, report):
        self._mec_name = name
        self._mec_opts = (algo, workspace_limit, auto_mode)
        self._mec_report = report
        self._mec_plans = {}

    def _conv_forward(self, input, weight, bias):
        if self.padding_mode != "zeros":
            return super()._conv_forward(input, weight, bias)
        return _conv(input, weight, bias, self.stride, self.padding, self.dilation, self.groups,
                     self._mec_opts, self)

    def extra_repr(self):
        return super().extra_repr() + f", algo={self._mec_opts[0]!r}"

    def __getstate__(self):
        # Plans are native objects: a pickled or deep-copied layer replans.
        state = self.__dict__.copy()
        state["_mec_plans"] = {}
        return state


def convert(model, workspace_limit=None, algo="auto", *, auto_mode="model",
            example_input=None):
    """Turns every torch.nn.Conv2d of `model` (the model itself included)
    into a mec.torch.Conv2d in place, keeping its parameters, buffers and
    hooks, and returns the model. Layers with padding_mode other than
    "zeros", and subclasses of nn.Conv2d (their forward is their own), stay
    native: a warning names them. Every layer plans with `algo` within
    `workspace_limit` bytes per plan and runs on the one shared workspace of
    its device and thread. Plans are made at a layer's first call of each
    input shape (the workspace grows then); example_input, when given, is run
    once (eval mode, no grad) so that the forward plans exist and the
    workspace has their size before convert returns. The report
    (mec.torch.report(model), also model.mec_report) lists each layer's
    plans: name, pass, algorithm, variant, workspace bytes."""
    rep = ConvertReport(workspace_limit, algo)
    for name, m in model.named_modules():
        if isinstance(m, Conv2d) or type(m) is torch.nn.Conv2d:
            if m.padding_mode != "zeros":
                rep._native(name, f"padding_mode={m.padding_mode!r}")
                continue
            if type(m) is torch.nn.Conv2d:
                m.__class__ = Conv2d
            m._mec_setup(name or type(model).__name__, algo, workspace_limit, auto_mode, rep)
            rep._converted(name or type(model).__name__)
        elif isinstance(m, torch.nn.Conv2d):
            rep._native(name, f"subclass {type(m).__name__} of nn.Conv2d")
    if rep.native:
        warnings.warn("mec.torch.convert: left native: " +
                      ", ".join(f"{n} ({why})" for n, why in rep.native), stacklevel=2)
    model.mec_report = rep
    if example_input is not None:
        training = model.training
        model.eval()
        try:
            with torch.no_grad():
                model(example_input)
        finally:
            model.train(training)
    return model


def report(model):
    """The ConvertReport convert() attached to model (DDP: its .module)."""
    inner = getattr(model, "module", model)
    return getattr(inner, "mec_report", None) or getattr(model, "mec_report", None)


def shared_workspaces():
    """{((device, index, stream), thread ident): uint8 tensor}: the shared
    workspaces, one per device (and CUDA stream) and thread."""
    return core.shared_workspaces()


def release():
    """Frees the shared workspaces and empties the shared plan cache (layers
    keep their own plans); both are remade on use."""
    core.release()
