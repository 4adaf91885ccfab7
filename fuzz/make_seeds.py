#!/usr/bin/env python3
"""Writes the seed corpus fuzz/corpus/ for conv_fuzzer.

The fuzzer decodes its input with LLVM's FuzzedDataProvider, which takes
integers from the END of the input, most significant byte first; this script
mirrors LLVMFuzzerTestOneInput's decoding order (keep the two in step) and
encodes chosen descriptors: typical small layers of every kind (groups,
padding, stride, dilation, each filter layout, bias, set_weights), every
field set to zero, negative, huge and overflowing values, invalid enum
values, and valid shapes whose workspaces are far too large to allocate.
Usage: fuzz/make_seeds.py [OUTDIR]  (default: fuzz/corpus next to this file)
"""
import hashlib
import os
import random
import sys

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


class Encoder:
    def __init__(self):
        self.consumed = []  # bytes in the order the fuzzer consumes them

    def integral(self, value, lo, hi):
        """ConsumeIntegralInRange(lo, hi) returning value."""
        span, nbytes = hi - lo, 0
        while nbytes < 8 and (span >> (8 * nbytes)) > 0:
            nbytes += 1
        raw = value - lo
        self.consumed += [(raw >> (8 * (nbytes - 1 - i))) & 0xFF for i in range(nbytes)]

    def byte(self, value):
        self.integral(value, 0, 255)

    def boolean(self, value):
        self.byte(1 if value else 0)

    def field(self, value, lo, hi):
        """take_field(): typical range, small range, or 8 raw bytes."""
        if lo <= value <= hi:
            self.byte(0)
            self.integral(value, lo, hi)
        elif -4 <= value <= 70:
            self.byte(176)
            self.integral(value, -4, 70)
        else:
            self.byte(255)
            self.integral(value, INT64_MIN, INT64_MAX)

    def enum(self, value, count):
        """take_enum()."""
        if 0 <= value < count:
            self.byte(0)
            self.integral(value, 0, count - 1)
        else:
            self.byte(255)
            self.integral(value, -(2**31), 2**31 - 1)

    def data(self):
        return bytes(reversed(self.consumed))


DEFAULT = dict(n=1, h=5, w=5, c=3, k=4, r=3, s=3, groups=1, pad_top=1, pad_bottom=1, pad_left=1,
               pad_right=1, stride_h=1, stride_w=1, dilation_h=1, dilation_w=1, layout=0,
               threads=1, threshold=None, packed=False, bias=True, repeat=True, fill=0xA5,
               algorithm=None, seed=1)
NUM_ALGORITHMS = 8  # named Algorithm values when these seeds were written


def encode(**fields):
    f = dict(DEFAULT, **fields)
    e = Encoder()
    e.field(f["n"], 1, 3)
    e.field(f["h"], 1, 12)
    e.field(f["w"], 1, 12)
    e.field(f["groups"], 1, 3)
    for name in ("c", "k"):  # stored directly, never multiplied by groups
        e.field(f[name], 1, 4)
        e.boolean(False)
    e.field(f["r"], 1, 4)
    e.field(f["s"], 1, 4)
    for name in ("pad_top", "pad_bottom", "pad_left", "pad_right"):
        e.field(f[name], 0, 2)
    for name in ("stride_h", "stride_w", "dilation_h", "dilation_w"):
        e.field(f[name], 1, 3)
    e.enum(f["layout"], 3)
    e.integral(f["threads"], -1, 4)
    e.boolean(f["threshold"] is not None)
    e.field(f["threshold"] or 0, 0, 40)
    e.boolean(f["packed"])
    e.boolean(f["bias"])
    e.boolean(f["repeat"])
    e.byte(f["fill"])
    e.boolean(f["algorithm"] is None)
    if f["algorithm"] is not None:
        e.enum(f["algorithm"], NUM_ALGORITHMS)
    e.integral(f["seed"], 0, 2**32 - 1)
    return e.data()


def seeds():
    rng = random.Random(20260601)
    out = []
    # Typical small layers, drawn like tests/cpu_algorithms_test.cc's sweep.
    for i in range(48):
        g = rng.randint(2, 4) if rng.randint(1, 3) == 1 else 1
        out.append(encode(
            n=rng.randint(1, 3), h=rng.randint(1, 23), w=rng.randint(1, 23), groups=g,
            c=g * rng.randint(1, 9), k=g * rng.randint(1, 9), r=rng.randint(1, 5),
            s=rng.randint(1, 5), pad_top=rng.randint(0, 2), pad_bottom=rng.randint(0, 2),
            pad_left=rng.randint(0, 2), pad_right=rng.randint(0, 2), stride_h=rng.randint(1, 3),
            stride_w=rng.randint(1, 3), dilation_h=rng.choice([1, 1, 1, 2, 3]),
            dilation_w=rng.choice([1, 1, 1, 2, 3]), layout=i % 3, threads=rng.randint(-1, 4),
            threshold=rng.choice([None, 0, 5, 1000]), packed=i % 2 == 1, bias=i % 3 != 0,
            fill=rng.choice([0x00, 0xFF, 0xA5]), seed=i))
    # Every field at each awkward value, the rest a valid 3x3 layer.
    awkward = [0, -1, -4, 71, 2**31 - 1, 2**31, 2**32, 46341, 3037000500, 2**62, INT64_MAX,
               INT64_MIN, INT64_MAX // 4 + 1]
    for name in ("n", "h", "w", "c", "k", "r", "s", "groups", "pad_top", "pad_bottom", "pad_left",
                 "pad_right", "stride_h", "stride_w", "dilation_h", "dilation_w"):
        for v in awkward:
            out.append(encode(**{name: v}))
    for layout in (-1, 3, 2**31 - 1, -(2**31)):
        out.append(encode(layout=layout))
    for algorithm in (-1, NUM_ALGORITHMS, 255, 2**31 - 1) + tuple(range(NUM_ALGORITHMS)):
        out.append(encode(algorithm=algorithm, packed=algorithm == 2))
    # Valid descriptors whose products overflow only in some algorithm's
    # workspace, or whose workspaces are petabytes (conv2d: kOutOfMemory).
    out.append(encode(n=2**28, h=1, w=1, c=2**18, k=1, r=64, s=64, pad_top=32, pad_bottom=32,
                      pad_left=32, pad_right=32))
    out.append(encode(n=1, h=1, w=1, c=1, k=1, r=1, s=1, pad_top=0, pad_bottom=2**40,
                      stride_h=2**40 + 1, pad_left=0, pad_right=0))
    out.append(encode(n=2**20, h=64, w=64, c=64, k=64, pad_top=1, pad_bottom=1))
    out.append(encode(h=2**31, w=2**31, c=1, k=1, r=2**31, s=2**31, pad_top=0, pad_bottom=0,
                      pad_left=0, pad_right=0))
    out.append(encode(h=1, w=1, r=2**40, s=1, dilation_h=2**30, pad_top=2**62, pad_bottom=0,
                      pad_left=0, pad_right=0))
    # Large-ish valid layers near the run cap (1e6 multiply-adds).
    out.append(encode(n=1, h=28, w=28, c=16, k=16, r=3, s=3))
    out.append(encode(n=2, h=14, w=14, c=32, k=32, r=3, s=3, groups=32))
    out.append(encode(n=1, h=30, w=7, c=8, k=8, r=5, s=5, dilation_h=2, dilation_w=3, pad_top=4,
                      pad_bottom=4, pad_left=6, pad_right=6, threads=4))
    return out


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")
    os.makedirs(outdir, exist_ok=True)
    for data in seeds():
        name = "seed-" + hashlib.sha1(data).hexdigest()[:16]
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main()
