#!/bin/bash
# Second GPU call of issue 18 item 5 (after gpu_session.sh's first): per-step medians after a warm-up
# (method_step_times.py's on_step timing) for every learned method at the paper preset, CoCosNet at one GPU's share
# of its batch (the official 32 over 8 GPUs = 4; 32 on one H200 ran out of its 140 GiB in the first call).
set -u
OUT=${OUT:-gpu_out}; mkdir -p "$OUT"
export PYTHONPATH=$PWD/.gpudeps:$PWD PYTHONUNBUFFERED=1
PY=${PY:-python3}
timeout 215 $PY benchmarks/method_step_times.py --all --skip cocosnet --scale paper --size 256 --device cuda \
  --steps 10 --warmup 3 --images 16 --no-yardstick --json "$OUT/paper_steps.json" 2>"$OUT/paper_steps.err" \
  | tee "$OUT/paper_steps.md"
timeout 50 $PY benchmarks/method_step_times.py cocosnet --batch 4 --scale paper --size 256 --device cuda \
  --steps 5 --warmup 2 --images 8 --no-yardstick 2>"$OUT/cocosnet.err" | tee "$OUT/cocosnet.md"
