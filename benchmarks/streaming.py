"""Peak memory of training on a folder of 20,000 64x64 PNGs: streamed from disk, held as
uint8, and what the same images take as float32.

Writes the folder once (smooth random blobs, RGB, under --folder), then runs, each as its own
process so that its peak resident memory (``ru_maxrss``) is its own:

- ``genlab train dcgan --data folder:DIR --set stream=true`` (workers=0, so the one process
  measured does the decoding too),
- the same in memory (``PixelStore``: uint8 levels),
- loading the folder as one float32 tensor (``load_dataset(...).dense()``), for comparison.

    python benchmarks/streaming.py [--images 20000] [--steps 50] [--folder /tmp/genlab-stream]

Seen (2026-12-07, 2-core machine, 50 steps, width 16, batch 64):

    20000 RGB 64x64 PNGs: float32 would take 938 MiB, uint8 234 MiB
    peak resident memory                              MiB
    train dcgan, streamed (stream=true)               455
    train dcgan, in memory as uint8                   728
    load the folder as one float32 tensor            1402
    in memory minus streamed: 274 MiB for the images (0.29 of float32)

The streamed run stays under 500 MiB whatever the folder's size (torch, the model, a batch
and the decoder); held in memory the images cost their uint8 size plus decoding's buffers.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

SIDE = 64


def write_folder(root: Path, count: int) -> None:
    """``count`` 64x64 RGB PNGs of a few soft coloured blobs each (skipped when present)."""
    from PIL import Image

    root.mkdir(parents=True, exist_ok=True)
    if len(list(root.glob("*.png"))) >= count:
        return
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:SIDE, 0:SIDE] / SIDE
    for i in range(count):
        image = np.zeros((SIDE, SIDE, 3))
        for _ in range(3):
            cx, cy, r = rng.random(), rng.random(), 0.1 + 0.2 * rng.random()
            blob = np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * r * r))
            image += blob[..., None] * rng.random(3)
        Image.fromarray((255 * image / image.max()).astype(np.uint8)).save(root / f"{i:06d}.png")


def peak_mib(command: list[str]) -> float:
    """Run ``command``; the peak resident memory of its process, in MiB."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{proc.stderr.read()[-2000:]}")
    return usage.ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=20_000)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--folder", default="/tmp/genlab-stream")
    args = parser.parse_args()
    root = Path(args.folder) / f"{args.images}"
    write_folder(root, args.images)
    train = [sys.executable, "-m", "genlab", "train", "dcgan", "--data", f"folder:{root}", "--steps", str(args.steps),
             "--set", "width=16", "--set", "batch_size=64", "--set", "workers=0", "--no-progress"]
    runs = Path(args.folder) / "runs"
    shutil.rmtree(runs, ignore_errors=True)  # the last time's runs
    streamed = peak_mib([*train, "--set", "stream=true", "--out", str(runs / "streamed")])
    in_memory = peak_mib([*train, "--out", str(runs / "memory")])
    dense = peak_mib([sys.executable, "-c", f"import genlab; genlab.load_dataset('folder:{root}').dense()"])
    floats = args.images * 3 * SIDE * SIDE * 4 / 2 ** 20
    print(f"{args.images} RGB {SIDE}x{SIDE} PNGs: float32 would take {floats:.0f} MiB, uint8 {floats / 4:.0f} MiB")
    print(f"{'peak resident memory':<44} {'MiB':>8}")
    print(f"{'train dcgan, streamed (stream=true)':<44} {streamed:>8.0f}")
    print(f"{'train dcgan, in memory as uint8':<44} {in_memory:>8.0f}")
    print(f"{'load the folder as one float32 tensor':<44} {dense:>8.0f}")
    print(f"in memory minus streamed: {in_memory - streamed:.0f} MiB for the images "
          f"({(in_memory - streamed) / floats:.2f} of float32)")


if __name__ == "__main__":
    main()
