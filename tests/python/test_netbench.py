"""python3 -m mec.netbench on a small resnet18 (batch 2, 64x64, one thread,
one step): the JSON holds both runs (native and mec) with times and peak
memory, every convolution of the model is converted and has its plans in
the per-layer table (forward; backward-weights, and backward-data for all
but the first, in training mode), the inference outputs agree within 1e-4
relative, and bad arguments exit 2. Run by ctest with PYTHONPATH set to the
build tree's python/ folder (tests/CMakeLists.txt); exits 77 (ctest:
skipped) where torch or torchvision is absent."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

try:
    import torch
    import torchvision
except ImportError:
    print("torch or torchvision is not installed: skipped")
    sys.exit(77)

SMALL = ["--model", "resnet18", "--batch", "2", "--image", "64", "--steps", "1",
         "--warmup", "0", "--threads", "1"]


def netbench(*args):
    return subprocess.run([sys.executable, "-m", "mec.netbench", *args], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, timeout=300)


def conv_names():
    model = torchvision.models.resnet18()
    return [n for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)]


class NetbenchTest(unittest.TestCase):
    def run_mode(self, mode):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "out.json")
            proc = netbench(*SMALL, "--mode", mode, "--json", path)
            self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)
            with open(path) as f:
                doc = json.load(f)
        self.assertIn("mec_vs_native", proc.stdout)
        self.assertIn("layer", proc.stdout)
        return doc

    def check_common(self, doc, mode):
        self.assertEqual(doc["settings"]["mode"], mode)
        self.assertEqual(set(doc["runs"]), {"native", "mec"})
        for kind, run in doc["runs"].items():
            self.assertEqual(run["threads"], 1, kind)
            self.assertEqual(len(run["step_times_s"]), 1, kind)
            self.assertGreater(run["median_step_s"], 0, kind)
            self.assertGreater(run["peak_memory_bytes"], 0, kind)
        self.assertEqual(doc["machine"]["threads"], 1)
        for key in ("cpu_model", "torch", "mec"):
            self.assertTrue(doc["machine"][key], key)
        names = conv_names()
        self.assertEqual(doc["conv_layers"], names)
        self.assertEqual(doc["mec"]["converted"], names)
        self.assertEqual(doc["mec"]["native"], [])
        layers = doc["mec"]["layers"]
        self.assertTrue(layers)
        self.assertGreater(doc["mec"]["shared_workspace_bytes"], 0)
        self.assertEqual(doc["mec"]["shared_workspace_bytes"], doc["mec"]["workspace_bytes"])
        passes = {}
        for row in layers:
            passes.setdefault(row["name"], set()).add(row["pass"])
            self.assertEqual(row["input_shape"][0], 2)
            self.assertTrue(row["algorithm"] and row["variant"])
        self.assertEqual(set(passes), set(names))
        return passes

    def test_train(self):
        doc = self.run_mode("train")
        passes = self.check_common(doc, "train")
        for name, got in passes.items():
            # conv1's input (the images) needs no gradient.
            want = {"fwd", "bwd_weights"} | ({"bwd_data"} if name != "conv1" else set())
            self.assertEqual(got, want, name)
        c = doc["comparison"]["mec_vs_native"]
        for key in ("time_ratio", "memory_ratio", "outputs_max_rel_diff", "grads_max_rel_diff"):
            self.assertGreater(c[key], 0, key)
        # Batch norm over a batch of 2 amplifies float32 rounding: finite only.
        self.assertLess(c["grads_max_rel_diff"], 1.0)
        self.assertTrue(c["grads_max_rel_diff_param"].endswith((".weight", ".bias")))

    def test_infer(self):
        doc = self.run_mode("infer")
        passes = self.check_common(doc, "infer")
        self.assertTrue(all(got == {"fwd"} for got in passes.values()), passes)
        c = doc["comparison"]["mec_vs_native"]
        self.assertLessEqual(c["outputs_max_rel_diff"], 1e-4)
        self.assertNotIn("grads_max_rel_diff", c)

    def test_errors(self):
        for args, text in ((["--model", "no_such_net"], "unknown model"),
                           (["--model", "fasterrcnn_resnet50_fpn"], "another kind of input"),
                           (["--model", "resnet18", "--workspace-limit", "12x"], "byte count"),
                           (["--model", "resnet18", "--batch", "0"], "at least 1"),
                           (["--model", "resnet18", "--layout", "nhcw"], "invalid choice")):
            proc = netbench(*args)
            self.assertEqual(proc.returncode, 2, args)
            self.assertIn(text, proc.stderr, args)


if __name__ == "__main__":
    unittest.main()
