"""mec.torch under DistributedDataParallel: two processes (gloo, this machine,
torch.multiprocessing.spawn) train a small converted model on one half of a
batch each; their averaged gradients must equal a single process's on the
whole batch, and the converted layers must have run on libmec in both ranks.
Run by ctest with PYTHONPATH set to the build tree's python/ folder
(tests/CMakeLists.txt); exits 77 (ctest: skipped) where torch or its
distributed package is absent."""
import os
import socket
import sys
import tempfile
import unittest

try:
    import torch
    import torch.distributed as dist
    import torch.multiprocessing as mp
except ImportError:
    print("torch is not installed: skipped")
    sys.exit(77)
if not dist.is_available():
    print("torch.distributed is not available: skipped")
    sys.exit(77)

import mec.torch as mt

WORLD = 2


def make_model():
    torch.manual_seed(0)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 8, 3, padding=1), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 8, 3, stride=2, padding="valid", groups=2), torch.nn.ReLU(),
        torch.nn.Conv2d(8, 16, (1, 3), padding=(0, 1), bias=False), torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(16, 5))


def batch():
    g = torch.Generator().manual_seed(1)
    return torch.randn(4 * WORLD, 3, 12, 12, generator=g), torch.randint(0, 5, (4 * WORLD,),
                                                                          generator=g)


def grads_of(model, x, target, steps=2):
    """Gradients after `steps` SGD steps (the last step's gradients), so that
    the parameters the ranks update must also stay equal."""
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), target).backward()
        opt.step()
    return {n: p.grad.detach().clone() for n, p in model.named_parameters()}


def rank_main(rank, port, out_dir):
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank,
                            world_size=WORLD)
    try:
        model = torch.nn.parallel.DistributedDataParallel(mt.convert(make_model()))
        x, target = batch()
        half = slice(rank * 4, rank * 4 + 4)
        grads = grads_of(model, x[half], target[half])
        rep = mt.report(model)
        passes = sorted({p.pass_ for p in rep.plans})
        torch.save({"grads": {n.replace("module.", "", 1): g for n, g in grads.items()},
                    "converted": len(rep.converted), "passes": passes},
                   os.path.join(out_dir, f"rank{rank}.pt"))
    finally:
        dist.destroy_process_group()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Ddp(unittest.TestCase):
    def test_two_ranks_match_one_process(self):
        x, target = batch()
        single = grads_of(mt.convert(make_model()), x, target)
        with tempfile.TemporaryDirectory() as out_dir:
            mp.spawn(rank_main, args=(free_port(), out_dir), nprocs=WORLD, join=True)
            ranks = [torch.load(os.path.join(out_dir, f"rank{r}.pt")) for r in range(WORLD)]
        for r in ranks:
            self.assertEqual(r["converted"], 3)
            self.assertEqual(r["passes"], ["bwd_data", "bwd_weights", "fwd"])
            self.assertEqual(set(r["grads"]), set(single))
            for name, g in single.items():
                err = (r["grads"][name] - g).norm() / g.norm()
                self.assertLess(float(err), 1e-5, name)


if __name__ == "__main__":
    unittest.main()
