"""mec.torch against PyTorch's own convolution computed in float64: values
and gradients (input, weight, bias) on random and chosen shapes (padding ints,
pairs, "same", "valid"; stride, dilation, groups incl. depthwise, rectangular
kernels, channels_last, bias or none), with tolerances scaled to float32
accumulation; convert() on torchvision's resnet18 against the native model;
the Conv2d subclass's state_dict; errors; empty batches; the shared workspace.
Run by ctest with PYTHONPATH set to the build tree's python/ folder
(tests/CMakeLists.txt); exits 77 (ctest: skipped) where torch is absent."""
import copy
import pickle
import random
import sys
import unittest
import warnings

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipped")
    sys.exit(77)

import mec.torch as mt
from mec import _mec
from mec import _torch_core as core

CL = torch.channels_last
EPS32 = 2.0 ** -23


def reference(x, w, b, gy, **kw):
    """(y, dx, dw, db) of F.conv2d in float64, and the same of |x|, |w|,
    |gy|: each element's sum of absolute products, which scales the
    tolerance of a float32 result."""
    out = []
    warnings.filterwarnings("ignore", "Using padding='same'")  # (that F.conv2d pads a copy)
    for sign in (False, True):
        xs, ws, gs = (t.double().abs() if sign else t.double() for t in (x, w, gy))
        xs.requires_grad_()
        ws.requires_grad_()
        bs = None if b is None else (b.double().abs() if sign else b.double()).requires_grad_()
        y = F.conv2d(xs, ws, bs, **kw)
        y.backward(gs)
        out.append((y.detach(), xs.grad, ws.grad, None if b is None else bs.grad))
    return out


def layout(t):
    """How t lies in memory: (NCHW-contiguous, channels_last-contiguous)."""
    return t.is_contiguous(), t.is_contiguous(memory_format=CL)


class Case:
    def __init__(self, n, c, h, w, k, r, s, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 cl=False, cl_weight=False):
        self.x_shape, self.w_shape = (n, c, h, w), (k, c // groups, r, s)
        self.kw = dict(stride=stride, padding=padding, dilation=dilation, groups=groups)
        self.bias, self.cl, self.cl_weight = bias, cl, cl_weight

    def __repr__(self):
        return (f"Case(x={self.x_shape}, w={self.w_shape}, {self.kw}, bias={self.bias}, "
                f"cl={self.cl}, cl_weight={self.cl_weight})")


CASES = [
    Case(2, 3, 9, 11, 4, 3, 3, padding=1),
    Case(1, 4, 12, 10, 6, 3, 2, stride=(2, 1), padding=(1, 0), groups=2, cl=True),
    Case(2, 6, 10, 9, 6, 3, 3, padding="same", dilation=(2, 1), groups=6),  # depthwise
    Case(2, 4, 8, 7, 4, 2, 4, padding="same", cl=True, bias=False),  # even kernels: asymmetric
    Case(1, 5, 8, 8, 3, 1, 1, padding="valid", cl_weight=True),
    Case(3, 2, 7, 13, 5, 5, 3, stride=3, padding=(3, 2), bias=False),
    Case(2, 8, 6, 6, 8, 3, 3, stride=2, padding=1, groups=8, cl=True, cl_weight=True),
    Case(1, 1, 9, 9, 2, 3, 3, padding=2, dilation=2, cl=True),  # c = 1: ambiguous strides
]


def random_case(rng):
    groups = rng.choice([1, 1, 2, 3])
    cg, kg = rng.randint(1, 4), rng.randint(1, 3)
    r, s = rng.randint(1, 4), rng.randint(1, 4)
    stride = (rng.randint(1, 3), rng.randint(1, 3))
    dilation = (rng.randint(1, 2), rng.randint(1, 2))
    h = rng.randint(dilation[0] * (r - 1) + 1, 12)
    w = rng.randint(dilation[1] * (s - 1) + 1, 12)
    padding = rng.choice(["valid", "same", 0, 1, (rng.randint(0, 2), rng.randint(0, 2))])
    if padding == "same":
        stride = (1, 1)
    return Case(rng.randint(1, 3), cg * groups, h, w, kg * groups, r, s, stride, padding,
                dilation, groups, rng.random() < 0.7, rng.random() < 0.5, rng.random() < 0.3)


def run_case(case, seed, fn=mt.conv2d):
    """(float32 results of fn, float64 reference, |.| reference, F.conv2d's
    float32 y, dx, dw) of one case."""
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(case.x_shape, generator=g) * 2 - 1
    w = torch.rand(case.w_shape, generator=g) * 2 - 1
    b = torch.rand(case.w_shape[0], generator=g) * 2 - 1 if case.bias else None
    if case.cl:
        x = x.contiguous(memory_format=CL)
    if case.cl_weight:
        w = w.contiguous(memory_format=CL)
    xg, wg = x.clone().requires_grad_(), w.clone().requires_grad_()
    bg = None if b is None else b.clone().requires_grad_()
    y = fn(xg, wg, bg, **case.kw)
    gy = torch.rand(y.shape, generator=g) * 2 - 1
    y.backward(gy)
    ref, bound = reference(x, w, b, gy, **case.kw)
    got = (y.detach(), xg.grad, wg.grad, None if b is None else bg.grad)
    xn, wn = x.clone().requires_grad_(), w.clone().requires_grad_()
    yn = F.conv2d(xn, wn, b, **case.kw)
    yn.backward(gy)
    return got, ref, bound, (yn.detach(), xn.grad, wn.grad)


def assert_close(test, case, got, ref, bound):
    """Each of y, dx, dw, db within 8 eps sqrt(terms) of float64 F.conv2d,
    scaled by its sum of absolute products."""
    n, k, cg, r, s = case.x_shape[0], *case.w_shape
    pq = ref[0].shape[2] * ref[0].shape[3]
    # Sums of this many products: forward, data and weights gradients, bias.
    lengths = (cg * r * s, k * r * s, n * pq, n * pq)
    for name, out, want, scale, length in zip(("y", "dx", "dw", "db"), got, ref, bound, lengths):
        if want is None:
            test.assertIsNone(out)
            continue
        test.assertEqual(out.dtype, torch.float32, (name, case))
        test.assertEqual(out.shape, want.shape, (name, case))
        tol = 8 * EPS32 * length ** 0.5 * scale + 1e-30
        err = (out.double() - want).abs()
        test.assertTrue(bool((err <= tol).all()),
                        f"{name} {case}: error {err.max().item():.3g}, "
                        f"worst over tolerance {(err / tol).max().item():.3g}")


class Values(unittest.TestCase):
    def check(self, case, seed, fn=mt.conv2d):
        got, ref, bound, native = run_case(case, seed, fn)
        assert_close(self, case, got, ref, bound)
        # Memory layouts: y's and dx's as F.conv2d's; dw's the weight's
        # (torch's own depthwise kernels may differ there).
        for name, out, want in zip(("y", "dx"), got, native):
            self.assertEqual(layout(out), layout(want), (name, case, out.stride(), want.stride()))
        self.assertEqual(layout(got[2]), layout(torch.empty(case.w_shape).contiguous(
            memory_format=CL if case.cl_weight else torch.contiguous_format)), case)

    def test_chosen_cases(self):
        for i, case in enumerate(CASES):
            self.check(case, i)

    def test_random_cases(self):
        rng = random.Random(5)
        for i in range(40):
            self.check(random_case(rng), 100 + i)

    def test_a_wrong_gradient_is_caught(self):
        def wrong(x, w, b=None, **kw):
            # The weight gradient of a convolution whose weights are 0.1% off.
            return mt.conv2d(x, w * 1.001 - (w * 0.001).detach(), b, **kw)

        def wrong_dx(x, w, b=None, **kw):
            return mt.conv2d(x * 1.001 - (x * 0.001).detach(), w, b, **kw)

        for fn in (wrong, wrong_dx):
            with self.assertRaises(AssertionError):
                self.check(CASES[0], 0, fn)

    def test_output_format_follows_torch(self):
        x, w = torch.randn(2, 4, 6, 6), torch.randn(3, 4, 3, 3)
        for xf in (x, x.contiguous(memory_format=CL)):
            for wf in (w, w.contiguous(memory_format=CL)):
                y, want = mt.conv2d(xf, wf), F.conv2d(xf, wf)
                self.assertEqual(y.stride(), want.stride())
                torch.testing.assert_close(y, want, rtol=1e-5, atol=1e-5)

    def test_unbatched_and_noncontiguous_input(self):
        x, w = torch.randn(2, 3, 10, 12), torch.randn(4, 3, 3, 3)
        torch.testing.assert_close(mt.conv2d(x[0], w, padding=1), F.conv2d(x[0], w, padding=1))
        xs = x[:, :, ::2, 1:]
        torch.testing.assert_close(mt.conv2d(xs, w, stride=(1, 2)), F.conv2d(xs, w, stride=(1, 2)))

    def test_plans_are_cached(self):
        x, w = torch.randn(2, 3, 7, 7, requires_grad=True), torch.randn(4, 3, 3, 3)
        mt.conv2d(x, w, padding="same").sum().backward()
        made = core.AddressPlan
        core.AddressPlan = None  # a second call that planned would fail
        try:
            mt.conv2d(x, w, padding=(1, 1)).sum().backward()
        finally:
            core.AddressPlan = made
        with self.assertRaises(TypeError):
            core.AddressPlan = None
            try:
                mt.conv2d(x, w, padding=2)  # a new shape plans
            finally:
                core.AddressPlan = made

    def test_native_backward_of_the_cuda_fallback(self):
        # The gradients a CUDA backend without backward passes takes from
        # torch, checked here on CPU tensors (the function is device-blind).
        case = CASES[3]  # "same" with even kernels
        _, ref, _, _ = run_case(case, 3)
        g = torch.Generator().manual_seed(3)
        x = (torch.rand(case.x_shape, generator=g) * 2 - 1).contiguous(memory_format=CL)
        w = torch.rand(case.w_shape, generator=g) * 2 - 1
        y = F.conv2d(x, w, **case.kw)
        gy = torch.rand(y.shape, generator=g) * 2 - 1
        args = tuple(case.kw[k] for k in ("stride", "padding", "dilation", "groups"))
        dx, dw, db = mt._native_backward(gy, x, w, True, args, (True, True, True))
        torch.testing.assert_close(dx.double(), ref[1], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(dw.double(), ref[2], rtol=1e-5, atol=1e-5)
        torch.testing.assert_close(db.double(), gy.double().sum((0, 2, 3)))
        self.assertEqual(mt._native_backward(gy, x, w, False, args, (False, True, False))[::2],
                         (None, None))

    def test_double_backward_is_refused(self):
        x = torch.randn(1, 2, 5, 5, requires_grad=True)
        w = torch.randn(2, 2, 3, 3, requires_grad=True)
        with self.assertRaisesRegex(RuntimeError, "double backward"):
            torch.autograd.grad(mt.conv2d(x, w).sum(), x, create_graph=True)


class Errors(unittest.TestCase):
    x, w = torch.randn(1, 4, 8, 8), torch.randn(8, 4, 3, 3)

    def test_dtypes(self):
        for dtype in (torch.float64, torch.float16, torch.int32):
            with self.assertRaisesRegex(TypeError, f"float32, got {dtype}"):
                mt.conv2d(self.x.to(dtype), self.w.to(dtype))
        with self.assertRaisesRegex(TypeError, "bias must be torch.float32, got torch.float64"):
            mt.conv2d(self.x, self.w, torch.zeros(8, dtype=torch.float64))

    def test_shapes_and_padding(self):
        with self.assertRaisesRegex(ValueError, "input channels"):
            mt.conv2d(self.x, self.w[:, :3])
        with self.assertRaisesRegex(ValueError, "4 dimensions"):
            mt.conv2d(self.x[None], self.w)
        with self.assertRaisesRegex(ValueError, "bias"):
            mt.conv2d(self.x, self.w, torch.zeros(7))
        with self.assertRaisesRegex(ValueError, "larger than the padded input"):
            mt.conv2d(self.x[:, :, :2], self.w)
        with self.assertRaisesRegex(ValueError, "stride"):
            mt.conv2d(self.x, self.w, stride=0)
        # The two padding-string errors are F.conv2d's own, word for word.
        for padding, stride in (("same", 2), ("full", 1)):
            with self.assertRaises(RuntimeError) as want:
                F.conv2d(self.x, self.w, padding=padding, stride=stride)
            with self.assertRaisesRegex(RuntimeError, str(want.exception)):
                mt.conv2d(self.x, self.w, padding=padding, stride=stride)

    def test_cuda_without_backend(self):
        if _mec.__dict__.get("has_cuda_backend") or torch.cuda.is_available():
            self.skipTest("a CUDA device is visible")
        with self.assertRaisesRegex(NotImplementedError, "CUDA|cuda"):
            _mec.AddressPlan([1, 4, 8, 8, 8, 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1], "OIHW", "fwd",
                             "auto", 0, None, "model", "cuda", 0, 0)


class EmptyBatch(unittest.TestCase):
    def test_forward_and_gradients(self):
        for cl in (False, True):
            x = torch.randn(0, 4, 9, 7)
            if cl:
                x = x.contiguous(memory_format=CL)
            x.requires_grad_()
            w = torch.randn(6, 2, 3, 3, requires_grad=True)
            b = torch.randn(6, requires_grad=True)
            y = mt.conv2d(x, w, b, stride=2, padding=1, groups=2)
            want = F.conv2d(x, w, b, stride=2, padding=1, groups=2)
            self.assertEqual(y.shape, want.shape)
            self.assertEqual(y.stride(), want.stride())
            y.sum().backward()
            self.assertEqual(x.grad.shape, x.shape)
            self.assertEqual(float(w.grad.abs().sum()), 0.0)
            self.assertEqual(float(b.grad.abs().sum()), 0.0)
        with self.assertRaisesRegex(ValueError, "larger than the padded input"):
            mt.conv2d(torch.randn(0, 4, 1, 1), torch.randn(6, 4, 3, 3))


class Module(unittest.TestCase):
    def test_state_dict_round_trip(self):
        torch.manual_seed(0)
        native = torch.nn.Conv2d(4, 6, (3, 2), stride=2, padding="valid", dilation=(1, 2),
                                 groups=2)
        ours = mt.Conv2d(4, 6, (3, 2), stride=2, padding="valid", dilation=(1, 2), groups=2)
        ours.load_state_dict(native.state_dict())
        self.assertEqual(list(ours.state_dict()), list(native.state_dict()))
        x = torch.randn(2, 4, 11, 9)
        torch.testing.assert_close(ours(x), native(x))
        again = torch.nn.Conv2d(4, 6, (3, 2), stride=2, dilation=(1, 2), groups=2)
        again.load_state_dict(ours.state_dict())
        torch.testing.assert_close(again(x), native(x))
        twin = pickle.loads(pickle.dumps(ours))
        torch.testing.assert_close(twin(x), native(x))

    def test_padding_modes_fall_back(self):
        model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
                                    torch.nn.Conv2d(4, 4, 3, padding="same"))
        x = torch.randn(1, 3, 8, 8)
        want = model(x)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            mt.convert(model)
        self.assertTrue(any("reflect" in str(c.message) for c in caught))
        self.assertIs(type(model[0]), torch.nn.Conv2d)
        self.assertIs(type(model[1]), mt.Conv2d)
        self.assertEqual(mt.report(model).native, [("0", "padding_mode='reflect'")])
        torch.testing.assert_close(model(x), want)
        own = mt.Conv2d(3, 4, 3, padding=1, padding_mode="circular")
        native = torch.nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular")
        native.load_state_dict(own.state_dict())
        torch.testing.assert_close(own(x), native(x))


def rel(a, b):
    return float((a.double() - b.double()).norm() / max(float(b.double().norm()), 1e-30))


class Convert(unittest.TestCase):
    def setUp(self):
        try:
            import torchvision
        except ImportError:
            self.skipTest("torchvision is not installed")
        torch.manual_seed(0)
        self.native = torchvision.models.resnet18(num_classes=10)
        self.model = mt.convert(copy.deepcopy(self.native))
        self.x = torch.randn(2, 3, 32, 32)

    def step(self, model, x):
        model.zero_grad()
        y = model(x)
        (y * torch.linspace(-1, 1, y.numel()).view_as(y)).sum().backward()
        return y.detach(), {n: p.grad.clone() for n, p in model.named_parameters()}

    def test_resnet18_against_native(self):
        # Eval mode: batch norm with its running statistics. In training mode
        # a batch of 2 reaching 1x1 images leaves batch norm two values per
        # channel, which amplifies float32 rounding (torch's own float32
        # model is 1.5e-4 off its float64 one): compared against float64
        # below instead.
        self.assertEqual(sum(type(m) is mt.Conv2d for m in self.model.modules()), 20)
        self.model.eval()
        self.native.eval()
        for cl in (False, True, "model"):
            x = self.x.contiguous(memory_format=CL) if cl else self.x
            if cl == "model":  # channels_last weights too: OHWI in libmec
                self.model.to(memory_format=CL)
                self.native.to(memory_format=CL)
            y, grads = self.step(self.model, x)
            y_ref, grads_ref = self.step(self.native, x)
            self.assertLess(rel(y, y_ref), 1e-4, cl)
            self.assertEqual(set(grads), set(grads_ref))
            for name, g in grads.items():
                self.assertLess(rel(g, grads_ref[name]), 1e-3, (name, cl))

    def test_resnet18_training_mode_against_float64(self):
        double = copy.deepcopy(self.native).double()
        y64, g64 = self.step(double, self.x.double())
        y32, g32 = self.step(self.native, self.x)
        y, g = self.step(self.model, self.x)
        # No further from float64 than torch's own float32 model (3x its
        # error, at least 1e-5 / 1e-4 of slack).
        self.assertLess(rel(y, y64), max(3 * rel(y32, y64), 1e-5))
        for name in g64:
            self.assertLess(rel(g[name], g64[name]), max(3 * rel(g32[name], g64[name]), 1e-4),
                            name)

    def test_report(self):
        self.step(self.model, self.x)
        rep = mt.report(self.model)
        self.assertEqual(len(rep.converted), 20)
        self.assertEqual(rep.native, [])
        fwd = [p for p in rep.plans if p.pass_ == "fwd" and p.name == "conv1"]
        self.assertEqual(fwd[0].input_shape, (2, 3, 32, 32))
        self.assertTrue(fwd[0].variant.startswith(fwd[0].algorithm))
        self.assertIn("layer4.1.conv2", str(rep))
        self.assertEqual({p.pass_ for p in rep.plans}, {"fwd", "bwd_data", "bwd_weights"})

    def test_one_shared_workspace(self):
        mt.release()
        self.step(self.model, self.x)  # plans every layer; the workspace grows
        spaces = mt.shared_workspaces()
        self.assertEqual(len(spaces), 1)
        (ws,) = spaces.values()
        self.assertEqual(ws.numel(), mt.report(self.model).workspace_bytes("cpu"))
        self.assertGreater(ws.numel(), 0)
        # Every run of the next step, forward and backward, gets that storage.
        seen = []
        original = core.workspace

        def spy(device, dev, need):
            out = original(device, dev, need)
            seen.append(out[0])
            return out

        core.workspace = spy
        try:
            self.step(self.model, self.x)
        finally:
            core.workspace = original
        self.assertGreaterEqual(len(seen), 20 * 2 + 19)
        self.assertEqual(set(seen), {ws.data_ptr()})
        self.assertIs(next(iter(mt.shared_workspaces().values())), ws)

    def test_limit_and_eager_planning(self):
        model = mt.convert(copy.deepcopy(self.native), workspace_limit=0,
                           example_input=self.x)
        rep = mt.report(model)
        self.assertEqual(len([p for p in rep.plans if p.pass_ == "fwd"]), 20)
        self.assertEqual({p.algorithm for p in rep.plans}, {"direct"})
        self.assertTrue(model.training)  # convert ran the example in eval mode, then restored
        model.eval()
        self.native.eval()
        y, _ = self.step(model, self.x)
        self.assertLess(rel(y, self.step(self.native, self.x)[0]), 1e-4)


if __name__ == "__main__":
    unittest.main()
