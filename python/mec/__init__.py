"""mec: memory-efficient 2-D convolution (libmec) for NumPy.

Functions with torch.nn.functional.conv2d's arguments over float32 arrays:
conv2d (forward), conv2d_backward_data and conv2d_backward_weights (the
gradients of a training step), and Plan for a shape convolved many times.
Arrays are NCHW (default, PyTorch's order) or NHWC (layout="NHWC"); weights
are (out_channels, in_channels / groups, kh, kw). algo is one of libmec's
algorithm names ("auto", "mec", "mec_a", "mec_b", "im2col", "direct", "fft",
"winograd", "winograd_f2", "winograd_f4"; the backward passes: auto, mec,
mec_a, mec_b, im2col, direct). workspace_limit (bytes) bounds the plan's
workspace: "auto" picks the fastest algorithm that fits. Library errors
raise ValueError, NotImplementedError, mec.WorkspaceError, MemoryError or
RuntimeError with libmec's message. PyTorch tensors, autograd and whole
models: the submodule mec.torch (import mec.torch; needs torch, which this
module does not import). See docs/python.md.
"""
from ._mec import Plan as _Plan, Settings as _Settings, WorkspaceError, __version__

__all__ = ["conv2d", "conv2d_backward_data", "conv2d_backward_weights", "Plan",
           "WorkspaceError", "__version__"]


def _pair(value, name):
    if isinstance(value, int):
        return [value, value]
    value = list(value)
    if len(value) != 2 or not all(isinstance(v, int) for v in value):
        raise ValueError(f"{name} must be an int or a pair of ints, got {value!r}")
    return value


def _settings(weight_shape, stride, padding, dilation, groups, algo, layout, threads,
              workspace_limit, auto_mode):
    s = _Settings()
    s.stride = _pair(stride, "stride")
    s.dilation = _pair(dilation, "dilation")
    if padding == "valid":
        s.padding = [0, 0, 0, 0]
    elif padding == "same":
        # PyTorch's rule: the total padding per axis is dilation * (k - 1),
        # the extra one at the end; stride 1 only.
        if s.stride != [1, 1]:
            raise ValueError("padding='same' needs stride 1")
        th = s.dilation[0] * (weight_shape[2] - 1)
        tw = s.dilation[1] * (weight_shape[3] - 1)
        s.padding = [th // 2, th - th // 2, tw // 2, tw - tw // 2]
    else:
        ph, pw = _pair(padding, "padding")
        s.padding = [ph, ph, pw, pw]
    s.groups = groups
    s.algo = algo
    s.layout = layout
    s.threads = threads
    s.workspace_limit = workspace_limit
    s.auto_mode = auto_mode
    return s


class Plan:
    """A plan for one pass ("fwd", "bwd_data" or "bwd_weights") over fixed
    input and weight shapes, with its own workspace. Attributes:
    workspace_bytes, algorithm, variant, pass_. Methods: forward(x, w,
    bias=None), backward_data(dy, w), backward_weights(x, dy)."""

    def __init__(self, input_shape, weight_shape, pass_="fwd", stride=1, padding=0, dilation=1,
                 groups=1, algo="auto", layout="NCHW", threads=0, workspace_limit=None,
                 auto_mode="model"):
        s = _settings(weight_shape, stride, padding, dilation, groups, algo, layout, threads,
                      workspace_limit, auto_mode)
        self._plan = _Plan(list(input_shape), list(weight_shape), pass_, s)

    workspace_bytes = property(lambda self: self._plan.workspace_bytes)
    algorithm = property(lambda self: self._plan.algorithm)
    variant = property(lambda self: self._plan.variant)
    pass_ = property(lambda self: self._plan.pass_)

    def forward(self, x, weight, bias=None):
        return self._plan.forward(x, weight, bias)

    def backward_data(self, grad_output, weight):
        return self._plan.backward_data(grad_output, weight)

    def backward_weights(self, x, grad_output):
        return self._plan.backward_weights(x, grad_output)


def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1, groups=1, algo="auto",
           layout="NCHW", threads=0, workspace_limit=None, auto_mode="model"):
    """The convolution (cross-correlation) of x with weight, plus bias."""
    plan = Plan(x.shape, weight.shape, "fwd", stride, padding, dilation, groups, algo, layout,
                threads, workspace_limit, auto_mode)
    return plan.forward(x, weight, bias)


def conv2d_backward_data(input_shape, weight, grad_output, stride=1, padding=0, dilation=1,
                         groups=1, algo="auto", layout="NCHW", threads=0,
                         workspace_limit=None):
    """The gradient with respect to the input (of shape input_shape)."""
    plan = Plan(input_shape, weight.shape, "bwd_data", stride, padding, dilation, groups, algo,
                layout, threads, workspace_limit)
    return plan.backward_data(grad_output, weight)


def conv2d_backward_weights(x, weight_shape, grad_output, stride=1, padding=0, dilation=1,
                            groups=1, algo="auto", layout="NCHW", threads=0,
                            workspace_limit=None):
    """(grad_weight, grad_bias): the gradients with respect to the weights
    (of shape weight_shape) and the bias."""
    plan = Plan(x.shape, weight_shape, "bwd_weights", stride, padding, dilation, groups, algo,
                layout, threads, workspace_limit)
    return plan.backward_weights(x, grad_output)
