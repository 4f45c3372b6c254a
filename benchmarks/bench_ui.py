"""Does the Qt event loop keep ticking while a model job runs?

A text-heatmap job on a real-size CLIP architecture (ViT-B-32, random weights: speed
does not depend on weight values) runs twice while a 10 ms QTimer records when it
fires:

- ``worker``: the widgets' way, :class:`napari_clipcap._qt.worker.Job` (a napari
  thread worker, progress crossing to the Qt thread as signals);
- ``main_thread``: the naive way, the same call made directly on the Qt thread.

Prints JSON: for each way the job time, the longest gap between ticks and the 99th
percentile gap, and the ratio of the longest gaps. Run::

    QT_QPA_PLATFORM=offscreen python benchmarks/bench_ui.py [--size 672] [--threads N]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np


def probe(app, start_job, timeout: float = 600.0) -> dict:
    """Run ``start_job(done)`` with a 10 ms timer ticking; gaps while the job runs."""
    from qtpy.QtCore import QTimer

    ticks: list[float] = []
    finished: list[float] = []
    timer = QTimer()
    timer.setInterval(10)
    timer.timeout.connect(lambda: ticks.append(time.perf_counter()))
    timer.start()
    app.processEvents()
    begin = time.perf_counter()
    start_job(lambda *_: finished.append(time.perf_counter()))
    while not finished and time.perf_counter() - begin < timeout:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    end = finished[0]
    during = np.array([begin] + [t for t in ticks if begin <= t <= end] + [end])
    gaps = np.diff(during) * 1000
    return {
        "job_s": round(end - begin, 3),
        "max_gap_ms": round(float(gaps.max()), 1),
        "p99_gap_ms": round(float(np.percentile(gaps, 99)), 1),
        "ticks": int(len(during) - 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=672, help="image side in pixels")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    args = parser.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    import torch

    from napari_clipcap.core.clip.model import load_clip
    from napari_clipcap.core.tasks.heatmap import text_heatmap

    if args.threads:
        torch.set_num_threads(args.threads)
    clip = load_clip("ViT-B-32", None, "cpu")  # random weights
    image = np.random.default_rng(0).random((args.size, args.size, 3)).astype(np.float32)
    options = {"mode": "sliding", "window": 224, "stride": 112, "batch_size": 4}
    text_heatmap(image[:224, :224], "warm-up", clip, **options)

    from qtpy.QtWidgets import QApplication

    from napari_clipcap._qt.worker import Job

    app = QApplication.instance() or QApplication([])

    def threaded(done):
        def fn(progress, cancel):
            return text_heatmap(image, "a river", clip, **options, progress=progress,
                                cancel=cancel)  # fmt: skip

        job = Job(fn, "bench")
        job.succeeded.connect(done)
        job.start()
        threaded.job = job  # keep it alive

    def naive(done):
        done(text_heatmap(image, "a river", clip, **options))

    worker = probe(app, threaded)
    main_thread = probe(app, naive)
    windows = ((args.size - 224) // 112 + 1) ** 2
    print(
        json.dumps(
            {
                "benchmark": "ui_event_loop_during_heatmap",
                "model": "ViT-B-32 (random weights), CPU",
                "image": [args.size, args.size],
                "windows": windows,
                "torch_threads": torch.get_num_threads(),
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "worker": worker,
                "main_thread": main_thread,
                "max_gap_ratio_main_over_worker": round(
                    main_thread["max_gap_ms"] / max(worker["max_gap_ms"], 1e-3), 1
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
