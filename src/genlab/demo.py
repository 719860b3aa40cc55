"""``genlab demo``: the main job on built-in data in a few minutes on a laptop CPU.

Fits a Gaussian mixture by EM and trains a non-saturating GAN on ``ring8``; trains a VAE and
fits a Gaussian mixture on ``digits``; prints one table with a first quality figure for each:
mode coverage on the ring (docs/EVALUATION.md protocol, 2,500 samples, 3 sigma) and held-out
likelihood in bits/dim (n_bins = 17; exact for the mixture, an ELBO bound for the VAE; a
uniform model scores log2(17) = 4.087).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from . import runs

# (model, data, settings): budgets chosen to fit the whole demo in about two minutes on 2 cores
PLAN = [
    ("gmm", "ring8", {"components": 8, "restarts": 3}),
    ("gan", "ring8", {"steps": 3000, "batch_size": 256, "hidden": 128, "layers": 3, "latent_dim": 2, "lr": 5e-4,
                       "log_every": 250}),
    ("vae", "digits", {"steps": 3000, "batch_size": 128, "log_every": 250}),
    ("gmm", "digits", {"components": 10, "covariance": "full", "restarts": 1}),
]


def quality_text(q: dict) -> str:
    parts = []
    if "modes" in q:
        parts.append(f"modes {q['modes']}/8, HQ {q['hq_percent']:.1f} %, reverse KL {q['reverse_kl']:.3f}")
    if "bits_per_dim" in q:
        bound = "<= " if "negative_elbo" in q else ""
        parts.append(f"test {bound}{q['bits_per_dim']:.3f} bits/dim")
    elif "log_likelihood" in q:
        parts.append(f"test log-lik {q['log_likelihood']:.3f} nats")
    return "; ".join(parts)


def run_demo(root: str | Path = "runs/demo", progress: bool = True, device: str | None = None) -> list:
    import torch

    # These networks are too small to gain from intra-op threads, and on a busy machine
    # oversubscribed OpenMP threads slow them down many times over.
    torch.set_num_threads(1)
    root = Path(root)
    results, begin = [], time.perf_counter()
    for model, data, settings in PLAN:
        out = root / f"{model}-{data}"
        if (out / runs.RUN).is_file():  # a previous demo's run: replace it
            shutil.rmtree(out)
        print(f"training {model} on {data} ...", flush=True)
        device_setting = {"device": device} if device else {}
        results.append(runs.start(model, data, {**settings, "progress": progress, **device_setting}, out=out))
    print()
    print(f"{'model':<6} {'data':<8} {'steps':>6} {'seconds':>8}  quality")
    for r in results:
        print(f"{r.model_name:<6} {r.data_name:<8} {r.steps:>6} {r.seconds:>8.1f}  {quality_text(r.quality)}")
    print(f"\ndemo finished in {time.perf_counter() - begin:.0f} s; results (models, samples.png, "
          f"metrics.jsonl) in {root}/")
    return results
