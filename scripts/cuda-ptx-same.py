#!/usr/bin/env python3
"""Whether the MEC GEMM kernel instances of two PTX files are the same code,
names, labels and the parameter's size aside (run 14: the one-group
instances after the grouped ones were added, against b3f911a's). Make the
PTX from build-dev with the flags of CMakeFiles/mec.dir/includes_CUDA.rsp:
  nvcc -DMEC_HAVE_CUDA=1 --options-file CMakeFiles/mec.dir/includes_CUDA.rsp -O3 -DNDEBUG \\
    -arch=sm_90 --expt-relaxed-constexpr -std=c++17 -x cu -ptx ../src/cuda/mec_gemm.cu -o NEW.ptx
Usage: cuda-ptx-same.py OLD.ptx NEW.ptx (instances of NEW without kGrouped, or kGrouped false;
and without kTf32, or kTf32 false: run 15's TF32 instances are new code; and kSrc (kFromSrc
before run 17) 0: the instances that read src, runs 16-17, are new code)."""
import difflib, re, sys


def entries(path):
    out = {}
    for m in re.finditer(r"\.entry (\S+)\(\n(.*?)\n\}\n", open(path).read(), re.S):
        name = m.group(1)
        t = re.search(
            r"mec_gemm_kernelILi(\d+)ELi(\d+)ELi(\d+)ELi(\d+)E(L[bi]([01])E)?(L[bi]([01])E)?(L[bi]([012])E)?",
            name)
        if not t or t.group(8) == "1" or t.group(10) not in (None, "0"):
            continue
        body = m.group(2).replace(name, "KERNEL")
        body = re.sub(r"_param_0\[\d+\]", "_param_0[N]", body)
        body = re.sub(r"\$L__BB\d+_", "$L__BB_", body)
        body = re.sub(r"_GLOBAL__N__\w*?_[0-9a-f]{8}", "_GLOBAL__N__", body)  # per-file hash
        out[t.groups()[:4] + (t.group(6) or "0",)] = body
    return out


old, new = entries(sys.argv[1]), entries(sys.argv[2])
same = 0
for key, body in old.items():
    other = new.get(key, new.get(key[:4] + ("0",), ""))
    if other == body:
        same += 1
    else:
        diff = list(difflib.unified_diff(body.splitlines(), other.splitlines(), lineterm="", n=0))
        print(key, f"differs ({len(diff)} diff lines)")
print(f"identical: {same} of {len(old)}")
