"""Latency of ``genlab serve``: the time to a first sample, through the real server.

Trains (unless given) a ``dcgan`` and a ``ddpm`` on ``digits`` with ``genlab train`` into a
runs folder, serves it on a free loopback port in this process, and times, as a page's
"sample" button does (an HTTP POST, its JSON answer with the PNG inlined):

* the first request for a run, which loads the model (safetensors) and samples;
* the same request again, the model now kept in the playground's cache (median of 5);
* for ddpm with 50 DDIM steps (the model's default sampler) and for dcgan, n = 16 images.

The run list and a run's page are timed too. Prints seconds; the figures are this machine's.

    python benchmarks/playground.py [--runs DIR] [--steps 200] [--n 16]

Seen (2026-12-07, a 2-core CPU loaded about 5x by other jobs, one torch thread, models of
200 steps on digits, n = 16): run list 0.035 s; dcgan first sample (load + sample) 0.017 s,
cached 0.004 s (0.002 s of it in the server); ddpm with 50 DDIM steps first 0.582 s, cached
0.449 s (0.446 s in the server); a run's page 0.012 s.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import threading
import time
import urllib.request
from pathlib import Path

import torch

from genlab.cli import main


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(url, data=json.dumps(body).encode(), method="POST",
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=600) as answer:
        return json.loads(answer.read())


def timed(call) -> float:
    begin = time.perf_counter()
    call()
    return time.perf_counter() - begin


def main_() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", default="runs/playground-bench", help="runs folder (trained here when empty)")
    parser.add_argument("--steps", type=int, default=200, help="training steps of each model")
    parser.add_argument("--n", type=int, default=16, help="images a request draws")
    args = parser.parse_args()
    torch.set_num_threads(1)
    root = Path(args.runs)
    for model in ("dcgan", "ddpm"):
        if not (root / model / "model.safetensors").is_file():
            assert main(["train", model, "--data", "digits", "--steps", str(args.steps), "--set", "monitor=false",
                         "--no-progress", "--out", str(root / model)]) == 0

    import uvicorn

    from genlab.playground.app import create_app
    from genlab.playground.library import Library

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Library(root)), host="127.0.0.1", port=port,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    url = f"http://127.0.0.1:{port}"
    print(f"playground on {url} over {root}; n = {args.n} images a request, torch threads 1")
    print(f"run list: {timed(lambda: urllib.request.urlopen(url + '/api/runs').read()):.3f} s")
    print(f"{'run':<28} {'first (load + sample)':>22} {'cached, median of 5':>20} {'sampling alone':>15}")
    for name, settings in (("dcgan", {}), ("ddpm", {"sampler": "ddim", "sampling_steps": 50})):
        body = {"seed": 0, "n": args.n, "settings": settings}
        first = timed(lambda: post(f"{url}/api/act/sample?name={name}", body))
        again, inside = [], []
        for seed in range(1, 6):
            answer = {}
            again.append(timed(lambda: answer.update(post(f"{url}/api/act/sample?name={name}", {**body, "seed": seed}))))
            inside.append(answer["seconds"])
        label = name + (" (ddim, 50 steps)" if name == "ddpm" else "")
        print(f"{label:<28} {first:>20.3f} s {statistics.median(again):>18.3f} s {statistics.median(inside):>13.3f} s")
    print(f"a run's page: {timed(lambda: urllib.request.urlopen(url + '/api/run?name=ddpm').read()):.3f} s")
    server.should_exit = True
    thread.join(timeout=30)


if __name__ == "__main__":
    main_()
