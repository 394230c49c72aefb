#!/usr/bin/env bash
# One GPU, under 5 minutes: gankit's CUDA path checked and measured, one table at the end.
#
#   benchmarks/gpu_check.sh            # on a machine with a CUDA GPU
#   benchmarks/gpu_check.sh --dry-run  # anywhere (CPU): parses, checks every step would run
#
# Steps: (1) the CUDA tests (tests/test_speed.py, the rest skip without a GPU);
# (2) `gankit bench` for dcgan32, stylegan2 and pix2pix on CUDA at a GPU-sized batch, gankit vs
# the naive loop, in fp32 and in the best precision (auto: bf16 where supported) and fp16;
# (3) a 2-process DDP (NCCL) smoke run when 2 GPUs exist; (4) one markdown table of it all.
# Results (JSON, logs, table.md) go to $OUT (default /tmp/gankit-gpu-check).
# Environment: PYTHON (default: .venv/bin/python, else python3), OUT.
set -euo pipefail

DRY=0
[[ "${1:-}" == "--dry-run" ]] && DRY=1
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PY="${PYTHON:-}"
if [[ -z "$PY" ]]; then
  if [[ -x .venv/bin/python ]]; then PY=.venv/bin/python; else PY=python3; fi
fi
OUT="${OUT:-/tmp/gankit-gpu-check}"
mkdir -p "$OUT"
export PYTHONPATH="$ROOT/src${PYTHONPATH:+:$PYTHONPATH}"

# workload -> GPU-sized batch (H100/H200-class: big enough to fill the GPU, small enough for 5 min)
declare -A BATCH=([dcgan32]=256 [stylegan2]=64 [pix2pix]=64)
# fp32, the best precision (auto: bf16 where the GPU has it), and fp16 + GradScaler on dcgan32
declare -A PRECISIONS=([dcgan32]="fp32 auto fp16" [stylegan2]="fp32 auto" [pix2pix]="fp32 auto")
STEPS=(--steps 50 --warmup 20 --window 10 --rounds 2)

run() {  # print, then run unless dry
  echo "+ $*"
  if [[ $DRY -eq 0 ]]; then "$@"; fi
}

bench_cmd() {  # workload precision device -> the bench command line
  echo "$PY" -m gankit bench --json --workloads "$1" --precision "$2" "${STEPS[@]}" \
    --set "loop.device=$3" --set "data.batch_size=${BATCH[$1]}"
}

if [[ $DRY -eq 1 ]]; then
  echo "gpu_check: dry run (CPU): checking the script and every tool it calls"
  bash -n "${BASH_SOURCE[0]}"
  "$PY" -c "import torch, gankit; print('torch', torch.__version__, 'cuda available:', torch.cuda.is_available())"
  "$PY" -m gankit bench --help > /dev/null
  "$PY" -m pytest --version > /dev/null
  "$PY" -c "import torch.distributed.run" # torchrun is there
  test -f tests/ddp_worker.py
  # the tiniest real bench on CPU, through the same table code as the GPU run
  "$PY" -m gankit bench --json --workloads dcgan32 --precision fp32 --steps 3 --warmup 1 --window 1 --rounds 1 \
    --set loop.device=cpu --set data.batch_size=4 --set data.resolution=16 > "$OUT/dry_dcgan32_fp32.json"
fi

nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | tee "$OUT/gpu.txt" \
  || echo "(no nvidia-smi)" | tee "$OUT/gpu.txt"
NGPU=$("$PY" -c "import torch; print(torch.cuda.device_count())")
if [[ $DRY -eq 0 && "$NGPU" -lt 1 ]]; then
  echo "gpu_check: no CUDA GPU visible (torch.cuda.device_count() = 0); use --dry-run on CPU" >&2
  exit 2
fi
T0=$SECONDS

# (1) the CUDA tests
run "$PY" -m pytest -q -m "not slow" tests/test_speed.py -k "cuda or fp16 or compile_failure" \
  > "$OUT/tests.log" 2>&1 || echo "gpu_check: CUDA tests failed (see $OUT/tests.log)"
[[ $DRY -eq 0 ]] && tail -2 "$OUT/tests.log"

# (2) the benchmarks
for w in dcgan32 stylegan2 pix2pix; do
  for p in ${PRECISIONS[$w]}; do
    cmd=$(bench_cmd "$w" "$p" cuda)
    echo "+ $cmd > $OUT/${w}_${p}.json"
    if [[ $DRY -eq 0 ]]; then
      # shellcheck disable=SC2086
      timeout 240 $cmd > "$OUT/${w}_${p}.json" 2> "$OUT/${w}_${p}.err" || echo "gpu_check: $w $p failed (see $OUT/${w}_${p}.err)"
    fi
  done
done

# (3) DDP smoke run (NCCL) on 2 GPUs
if [[ "$NGPU" -ge 2 || $DRY -eq 1 ]]; then
  run "$PY" -m torch.distributed.run --standalone --nproc_per_node=2 -m gankit train --recipe dcgan --data digits \
    --out "$OUT/ddp" --steps 20 --set loop.device=cuda --set loop.progress=false --set data.batch_size=64 \
    > "$OUT/ddp.log" 2>&1 || echo "gpu_check: DDP smoke run failed (see $OUT/ddp.log)"
else
  echo "gpu_check: 1 GPU: DDP smoke run skipped" | tee "$OUT/ddp.log"
fi

# (4) the table
"$PY" - "$OUT" "$DRY" <<'EOF'
import json, sys
from pathlib import Path
out, dry = Path(sys.argv[1]), sys.argv[2] == "1"
files = sorted(out.glob("dry_*.json" if dry else "*_*.json"))
print("\n| workload | batch | gankit precision | gankit img/s | naive img/s | ratio | gankit GFLOP/s | % of peak | naive % of fp32 peak |")
print("|---|---|---|---|---|---|---|---|---|")
for f in files:
    try:
        rows = json.loads(f.read_text())["workloads"]
    except (ValueError, KeyError):
        print(f"| {f.stem} | failed | | | | | | | |")
        continue
    for w in rows:
        if "skipped" in w:
            continue
        g, n = w["gankit"], w["naive"]
        print(f"| {w['workload']} | {w['batch_size']} | {g['precision']} | {g['img_per_s']:.0f} | {n['img_per_s']:.0f} | "
              f"{w['ratio']:.2f}x | {g['gflops']:.0f} | {g['pct_of_peak']:.1f} | {n['pct_of_peak']:.1f} |")
print(f"\ngpu: {(out / 'gpu.txt').read_text().strip()}")
EOF
echo "gpu_check: $((SECONDS - T0)) s; results in $OUT"
[[ $DRY -eq 1 ]] && echo "gpu_check: dry run OK (every command above would run on a GPU machine)"
exit 0
