#!/bin/bash
# The GPU measurements of issue 18 item 5, as one script for a borrowed GPU machine with its own torch (no project
# venv there): paper-scale step times and peak memory of every learned method, loader workers on decoded PNG data,
# the segmenter kit at paper size, and `bench run device=cuda` end to end at smoke scale (tracking off: no MLflow
# there). Pure-Python dependencies missing on that machine travel in .gpudeps/ (copied from the venv).
# Writes everything under $OUT (default ./gpu_out). Each step has its own time limit, so one slow step costs only
# itself.
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/.gpudeps:$PWD PYTHONUNBUFFERED=1
PY=${PY:-python3}
{ nvidia-smi -L; $PY -c 'import torch, torchvision; print("torch", torch.__version__, "torchvision", torchvision.__version__, torch.cuda.get_device_name(0))'; nproc; } 2>&1 | tee "$OUT/machine.txt"
step() { local limit=$1 name=$2; shift 2; echo "== $name (limit ${limit}s)"; local t0=$(date +%s)
  timeout "$limit" "$@" > "$OUT/$name.md" 2>"$OUT/$name.err"; local rc=$?
  echo "rc=$rc in $(( $(date +%s) - t0 )) s"; cat "$OUT/$name.md"; tail -3 "$OUT/$name.err"; }
step 260 paper_step_times $PY benchmarks/method_step_times.py --all --scale paper --size 256 --device cuda \
  --steps 10 --images 64 --json "$OUT/paper_step_times.json"
step 70 loader_workers_png $PY benchmarks/method_step_times.py pix2pix cyclegan --scale paper --size 256 \
  --device cuda --data png --workers 0 4 --steps 10 --images 64
step 50 segmenter_speed $PY benchmarks/segmenter_training_speed.py --device cuda --iterations 5 --warmup 2 \
  --cases deeplabv2_resnet101:256x512:10 deeplabv3_mobilenet_v3_large:256x512:10 --out "$OUT/segmenter_speed.md"
step 110 bench_run_cuda bash -c "$PY -m bench run protocol=mnist_single 'methods=[cyclegan,egscit,adain]' \
  scale=smoke device=cuda tracking.enabled=false paths.results=/tmp/r1 progress=false 2>&1 && \
  $PY -m bench run protocol=ade20k 'methods=[cocosnet,spade,pix2pixhd]' scale=smoke device=cuda \
  tracking.enabled=false paths.results=/tmp/r2 progress=false 2>&1; \
  $PY -m bench run protocol=mnist_single 'methods=[cyclegan]' scale=smoke device=cuda precision=bf16 \
  tracking.enabled=false paths.results=/tmp/r3 progress=false 2>&1"
