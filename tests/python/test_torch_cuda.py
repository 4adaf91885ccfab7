"""mec.torch on CUDA tensors: values and gradients of the cases of
test_torch.py computed on the GPU against PyTorch's float64 convolution on the
CPU (same tolerance rule), a convolution captured in a CUDA graph and
replayed on new data, the work enqueued on the current stream, and convert()
on torchvision's resnet18 against the native model on the GPU. Exits 77
(ctest: skipped) where torch, a GPU or libmec's CUDA backend is absent."""
import copy
import random
import sys
import unittest

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("torch is not installed: skipped")
    sys.exit(77)
if not torch.cuda.is_available():
    print("no CUDA device: skipped")
    sys.exit(77)

import mec.torch as mt
from test_torch import CASES, CL, assert_close, random_case, rel, run_case


def on_gpu(x, w, b=None, **kw):
    """mt.conv2d on CUDA copies of CPU tensors (differentiable both ways)."""
    return mt.conv2d(x.cuda(), w.cuda(), None if b is None else b.cuda(), **kw).cpu()


class Values(unittest.TestCase):
    def check(self, case, seed):
        got, ref, bound, _ = run_case(case, seed, on_gpu)
        assert_close(self, case, got, ref, bound)

    def test_chosen_and_random_cases(self):
        for i, case in enumerate(CASES):
            self.check(case, i)
        rng = random.Random(7)
        for i in range(30):
            self.check(random_case(rng), 300 + i)


class Streams(unittest.TestCase):
    def test_cuda_graph_capture_and_replay(self):
        torch.manual_seed(1)
        x = torch.randn(2, 16, 20, 20, device="cuda").contiguous(memory_format=CL)
        w = torch.randn(32, 16, 3, 3, device="cuda")
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # plans and workspace made on the capture stream
            mt.conv2d(x, w, padding=1)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, stream=stream):
            y = mt.conv2d(x, w, padding=1)
        for trial in range(2):
            x.copy_(torch.randn(x.shape, device="cuda"))
            graph.replay()
            torch.cuda.synchronize()
            want = F.conv2d(x.double(), w.double(), padding=1)
            self.assertLess(rel(y, want), 1e-5, trial)

    def test_runs_on_the_current_stream(self):
        x = torch.randn(1, 8, 16, 16, device="cuda").contiguous(memory_format=CL)
        w = torch.randn(8, 8, 3, 3, device="cuda")
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):
            y = mt.conv2d(x, w, padding=1)
            # Enqueued behind the convolution on the same stream: no host wait.
            z = y * 1.0
        stream.synchronize()
        self.assertLess(rel(z, F.conv2d(x.double(), w.double(), padding=1)), 1e-5)


class Convert(unittest.TestCase):
    def test_resnet18_against_native(self):
        try:
            import torchvision
        except ImportError:
            self.skipTest("torchvision is not installed")
        torch.manual_seed(0)
        native = torchvision.models.resnet18(num_classes=10).cuda().eval()
        model = mt.convert(copy.deepcopy(native))
        x = torch.randn(4, 3, 64, 64, device="cuda")
        torch.backends.cudnn.allow_tf32 = False
        for m in (native, model):
            m.zero_grad()
        y, y_ref = model(x), native(x)
        y.sum().backward()
        y_ref.sum().backward()
        self.assertLess(rel(y, y_ref), 1e-4)
        grads = dict(native.named_parameters())
        for name, p in model.named_parameters():
            self.assertLess(rel(p.grad, grads[name].grad), 1e-3, name)
        plans = mt.report(model).plans
        self.assertTrue(plans and all(p.device == "cuda:0" for p in plans))
        self.assertTrue(all(p.algorithm != "auto" for p in plans))


if __name__ == "__main__":
    unittest.main()
