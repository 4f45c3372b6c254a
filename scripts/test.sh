#!/usr/bin/env bash
# The whole test suite on a fresh Debian/Ubuntu machine, in one command:
#   1. the Debian packages napari needs under Xvfb (a virtual screen, OpenGL through
#      Mesa, Qt's xcb libraries) and Java for the METEOR metric, installed when missing
#      and this user may (root, or sudo without a password);
#   2. the package with its test extras (pip, editable);
#   3. pytest under Xvfb, offline (no test waits on a model hub), one worker per core.
# Arguments go to pytest: scripts/test.sh tests/_qt -x -q
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 libxcb-cursor0
      libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-xinerama0 libxcb-randr0
      libxcb-render-util0 libxcb-image0 libdbus-1-3 default-jre-headless)

if command -v dpkg >/dev/null 2>&1; then
  missing=()
  for d in "${debs[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
  if [ ${#missing[@]} -gt 0 ]; then
    prefix=none
    if [ "$(id -u)" -eq 0 ]; then
      prefix=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
      prefix="sudo -n"
    fi
    if [ "$prefix" != none ]; then
      echo "scripts/test.sh: installing Debian packages: ${missing[*]}"
      $prefix apt-get update -q
      $prefix env DEBIAN_FRONTEND=noninteractive apt-get install -y -q \
        --no-install-recommends "${missing[@]}"
    else
      echo "scripts/test.sh: missing Debian packages (run as root to install them):" \
        "${missing[*]}" >&2
    fi
  fi
fi

python=${PYTHON:-$(command -v python || command -v python3)}
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 HF_HUB_DISABLE_TELEMETRY=1
export PIP_DISABLE_PIP_VERSION_CHECK=1
"$python" -m pip install -q -e ".[all,test]"

# One pytest worker per core (pytest-xdist), each test file on one worker so its
# module-scoped models are built once; one torch/BLAS thread per worker, since more
# threads than cores make OpenMP spin against itself (a 10 s test took 230 s so).
# NAPARI_CLIPCAP_TEST_WORKERS=0 runs in this process alone.
workers=${NAPARI_CLIPCAP_TEST_WORKERS:-auto}
parallel=()
if [ "$workers" != 0 ]; then
  parallel=(-n "$workers" --dist loadfile)
  export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} MKL_NUM_THREADS=${MKL_NUM_THREADS:-1}
fi

if command -v xvfb-run >/dev/null 2>&1; then
  exec xvfb-run -a -s "-screen 0 1920x1080x24" "$python" -m pytest "${parallel[@]}" "$@"
elif [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$python" -m pytest "${parallel[@]}" "$@"
else
  echo "scripts/test.sh: no xvfb-run and no display: install the package xvfb" >&2
  exit 2
fi
