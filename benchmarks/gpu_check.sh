#!/usr/bin/env bash
# The GPU check: device tests and GPU figures in one JSON file (see gpu_check.py).
# Usage: benchmarks/gpu_check.sh [OUT.json]   (on a CUDA machine; about 5 minutes on an H100)
set -euo pipefail
cd "$(dirname "$0")/.."
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
out="${1:-gpu_check.json}"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
python benchmarks/gpu_check.py --device cuda --out "$out"
