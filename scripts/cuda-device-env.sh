# Sourced by the scripts/cuda-*.sh that run on a lent GPU machine, from the
# folder scripts/cuda-pack.sh made: unpacks the shared libraries that
# machine lacks, points LD_LIBRARY_PATH at them, cuBLAS and cuDNN, makes
# $res (results/) and records the GPU's state there. Sets here and res;
# bench NAME CMD... runs one mecbench command over the paper layers in fp32
# (20 reps after 3 warm-ups) into $res/NAME.{json,txt,err}.
here=$(pwd)
res=$here/results
mkdir -p "$res" /work && ln -sfn "$here" /work/wt-cuda  # MEC_SOURCE_DIR of the binaries
mkdir -p devlib && tar xzf devlib.tar.gz -C devlib
cudnn_lib=$(dirname "$(find / -xdev -name 'libcudnn.so.9' 2>/dev/null | head -1)")
export LD_LIBRARY_PATH=$here/devlib:/usr/local/cuda/lib64:$cudnn_lib:${LD_LIBRARY_PATH:-}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu --format=csv |
  tee "$res/gpu.txt"
bench() {
  local name=$1
  shift
  timeout 200 "$@" --device cuda --math fp32 --reps 20 --warmup 3 --suite paper \
    --json "$res/$name.json" > "$res/$name.txt" 2> "$res/$name.err"
  echo "$name rc=$?"
}
