"""Claims about autoencoders as generative models, on scikit-learn's 8x8 digits.

* autoencoder-vs-vae: decoding codes drawn from N(0, I) makes a plain autoencoder a poor
  sampler, while a VAE, whose codes are pulled towards that prior, samples well; VAE
  samples are blurrier than a GAN's, and VAE-GAN's are measured beside both;
* elbo-vs-iwae: the ELBO is a lower bound on log p(x); the importance-weighted bound
  tightens as the number of samples K grows.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..api import create
from ..data import load_dataset
from ..metrics.features import feature_network
from ..metrics.images import class_coverage, frechet_distance, precision_recall
from ..plot import GRID_COLOUR, figure, save_figure
from ..trainer import TrainConfig, Trainer
from .claim import COLOURS, Claim

DATA = "digits"
SHOWN = 12                   # samples per model in the figure
LAPLACIAN = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def digits_split():
    """genlab's fixed 80/20 split of the digits (the feature network trains on the 80)."""
    return load_dataset(DATA).split(0.2, seed=0)


def train_model(name: str, data, steps: int, batch: int, seed: int = 0, **settings):
    """A genlab model trained by genlab's trainer on ``data``, in eval mode."""
    torch.manual_seed(seed)
    model = create(name, data=data, **settings)
    Trainer(model, data, TrainConfig(steps=steps, batch_size=batch, seed=seed, progress=False,
                                     device="cpu")).run()
    return model.eval()


# --------------------------------------------------------------------------- (a) ae vs vae

def sharpness(x: torch.Tensor) -> torch.Tensor:
    """Variance of the Laplacian of each image (N, 1, H, W) in [0, 1], over its interior
    pixels: large for crisp strokes, small for blurred ones (Pech-Pacheco et al. 2000)."""
    response = F.conv2d(x.float(), LAPLACIAN.to(x.device)[None, None])    # (N, 1, H - 2, W - 2)
    return response.flatten(1).var(dim=1)


def sampler_runs(quick: bool) -> dict[str, tuple[str, int, int, dict]]:
    """label -> (model, steps, batch, settings).

    The VAE uses the discretised logistic likelihood (Salimans et al. 2017), an exact
    probability of the 17 grey levels, as mnist5k's preset does; the AE has the VAE's MLP
    and latent size; DCGAN and VAE-GAN keep their defaults (DCGAN at its mnist5k lr).
    ``quick``: shorter runs of the same models, AE and VAE at lr 3e-3, DCGAN at width 16
    and lr 1e-3 on batches of 32 (more updates for the same CPU time).
    """
    latent = dict(latent_dim=8)
    if quick:
        return {"AE (prior samples)": ("ae", 300, 64, dict(latent, lr=3e-3)),
                "VAE": ("vae", 500, 128, dict(latent, lr=3e-3, likelihood="discretized")),
                "VAE-GAN": ("vaegan", 60, 64, {}),
                "DCGAN": ("dcgan", 400, 32, dict(width=16, lr=1e-3))}
    return {"AE (prior samples)": ("ae", 3000, 128, latent),
            "VAE": ("vae", 3000, 128, dict(latent, likelihood="discretized")),
            "VAE-GAN": ("vaegan", 2000, 64, {}),
            "DCGAN": ("dcgan", 1500, 64, dict(lr=5e-4))}


def image_scores(net, real_features: torch.Tensor, x: torch.Tensor, k: int) -> dict[str, float]:
    """Sharpness, Frechet distance to the held-out images, precision/recall and classes hit,
    all on genlab's own feature network (metrics/features.py)."""
    features = net.features(x)
    return {"sharpness": float(sharpness(x).mean()), "fd": frechet_distance(real_features, features),
            **precision_recall(real_features, features),
            "classes": class_coverage(net.probs(x), k)["classes_hit"]}


def _axes_px(fig, left: float, bottom: float, width: float, height: float):
    """Axes placed in pixels from the figure's bottom-left corner."""
    w, h = fig.bbox.width, fig.bbox.height
    return fig.add_axes((left / w, bottom / h, width / w, height / h))


def _sampler_plot(path: Path, grids: dict[str, torch.Tensor], scores: dict[str, dict]) -> Path:
    """Left: a row of samples per model; right: sharpness and Frechet distance as bars."""
    fig = figure(1200, 440)
    fig.suptitle(f"Samples on {DATA}: a real row, then each model from N(0, I) codes or noise",
                 y=1 - 6 / 440, va="top", fontsize=11)
    rows = [torch.cat([F.pad(img[0], (1, 1, 1, 1), value=0.5) for img in x], dim=1)
            for x in grids.values()]                                         # (10, 10 * n) per model
    ax = _axes_px(fig, 80, 60, 400, 330)
    ax.imshow(torch.cat(rows, dim=0).numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_yticks([10 * i + 4.5 for i in range(len(rows))], list(grids), fontsize=9)
    ax.set_xticks([])
    ax.set_title("samples (AE and VAE: decoder means)", fontsize=10)
    labels = list(scores)
    short = [label.split(" ")[0] for label in labels]
    where = np.arange(len(labels))
    colours = ["0.55"] + [COLOURS[i % len(COLOURS)] for i in range(len(labels) - 1)]
    for left, key, title in ((540, "sharpness", "sharpness: variance of the Laplacian"),
                             (890, "fd", "Frechet distance to held-out digits")):
        ax = _axes_px(fig, left, 50, 290, 340)
        values = [scores[label][key] for label in labels]
        ax.bar(where, values, color=colours)
        for i, v in enumerate(values):
            ax.annotate(f"{v:.3g}", (i, v), textcoords="offset points", xytext=(0, 3), ha="center", fontsize=8)
        ax.set_xticks(where, short, fontsize=8)
        ax.set_title(title, fontsize=10)
        ax.tick_params(axis="y", labelsize=8)
        ax.grid(axis="y", color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.margins(y=0.12)
    return save_figure(fig, path)


def _between(x: float, a: float, b: float) -> str:
    return "between" if min(a, b) <= x <= max(a, b) else "not between"


def _sampler_notes(scores: dict[str, dict], runs: dict, n: int, accuracy: float) -> list[str]:
    """What the table shows, in numbers: the AE against the VAE, the VAE against the GAN."""
    real, ae, vae, vaegan, gan = scores.values()
    rel = {label: s["sharpness"] / real["sharpness"] for label, s in scores.items()}
    budgets = [f"{label.split(' ')[0]} {steps} x {batch}" for label, (_, steps, batch, _) in runs.items()]
    return [f"{n} samples per model against the {n} held-out digits; 'real' is {n} training digits, the "
            f"best a sampler can do at this N (feature network test accuracy {accuracy:.3f}).",
            f"trained (steps x batch): {', '.join(budgets)}.",
            f"AE prior samples: Frechet distance {ae['fd']:.3g}, {ae['fd'] / vae['fd']:.2g} x the VAE's "
            f"{vae['fd']:.3g}; recall {ae['recall']:.2f} vs {vae['recall']:.2f}.",
            "sharpness relative to real digits: " + ", ".join(f"{label.split(' ')[0]} {r:.2f}"
                                                              for label, r in list(rel.items())[1:])
            + f"; the VAE's samples are {'blurrier' if vae['sharpness'] < gan['sharpness'] else 'not blurrier'} "
            f"than the GAN's (GAN / VAE sharpness {gan['sharpness'] / vae['sharpness']:.2g}).",
            f"VAE-GAN: sharpness {_between(vaegan['sharpness'], vae['sharpness'], gan['sharpness'])} the VAE's "
            f"and the GAN's, Frechet distance {vaegan['fd']:.3g}, "
            f"{_between(vaegan['fd'], vae['fd'], gan['fd'])} theirs."]


def autoencoder_vs_vae(out_dir: Path, quick: bool = False) -> Claim:
    """An autoencoder is a poor sampler, a VAE a good but blurry one, a GAN a sharp one.

    A plain autoencoder's codes go wherever reconstruction puts them, so codes drawn from
    N(0, I) decode to off-manifold images; the VAE's KL term pulls q(z|x) towards N(0, I)
    (Kingma & Welling 2014), so prior codes decode to digits, but its samples are decoder
    means, averages over what the code leaves uncertain: blurred. A GAN (DCGAN, Radford et
    al. 2016; Goodfellow et al. 2014) is trained to fool a discriminator, which blur does
    not. VAE-GAN (Larsen et al. 2016) measures reconstructions in a discriminator's
    features instead of pixels. Sharpness is the variance of the Laplacian; quality is
    judged on genlab's feature network against held-out digits.
    """
    train, test = digits_split()
    net = feature_network(train, test, seed=0)
    real_features, k, n = net.features(test.x), train.num_classes, len(test)
    baseline = train.x[torch.randperm(len(train), generator=torch.Generator().manual_seed(0))[:n]]
    scores = {"real (train images)": image_scores(net, real_features, baseline, k)}
    grids = {"real": test.x[:SHOWN]}
    for label, (name, steps, batch, settings) in sampler_runs(quick).items():
        model = train_model(name, train, steps, batch, **settings)
        with torch.no_grad():
            x = model.sample(n, generator=torch.Generator().manual_seed(1)).clamp(0, 1)
        scores[label] = image_scores(net, real_features, x, k)
        grids[label.split(" ")[0]] = x[:SHOWN]
    rows = [[label, s["sharpness"], s["fd"], s["precision"], s["recall"], s["classes"]]
            for label, s in scores.items()]
    plot = _sampler_plot(Path(out_dir) / "autoencoder-vs-vae.png", grids, scores)
    notes = _sampler_notes(scores, sampler_runs(quick), n, net.meta["test_accuracy"])
    return Claim("autoencoder-vs-vae", "Decoding N(0, I) codes: an autoencoder samples poorly, a VAE well but "
                 "blurrier than a GAN", ["samples", "sharpness", "Frechet dist.", "precision", "recall",
                                         "classes hit"], rows, plot, notes)


# --------------------------------------------------------------------------- (b) ELBO vs IWAE

def elbo_vs_iwae(out_dir: Path, quick: bool = False) -> Claim:
    """The ELBO is a lower bound on log p(x); the IWAE bound with K samples tightens it.

    Burda et al. 2016, "Importance Weighted Autoencoders", theorem 1:
    log p(x) >= L_{K+1} >= L_K >= ... >= L_1 = ELBO in expectation, with
    L_K = E log (1/K) sum_k p(x, z_k) / q(z_k|x), z_k ~ q(z|x); L_K -> log p(x) as K grows.
    One VAE (discretised logistic likelihood, so log p is of the 17 grey levels themselves)
    trained on digits; the bounds are taken on held-out digits with the vae model's own
    ``negative_elbo`` and ``iwae_nll`` (the same noise stream at every K).
    """
    train, test = digits_split()
    steps, ks, n = (300, (1, 2, 5, 10, 50, 200), 120) if quick else (3000, (1, 2, 5, 10, 50, 100, 1000), len(test))
    model = train_model("vae", train, steps, 128, latent_dim=8, lr=3e-3 if quick else 1e-3,
                        likelihood="discretized")
    x = test.x[:n]
    elbo = -model.negative_elbo(x).double()                              # (n,) one z, exact KL
    bounds = {k: -model.iwae_nll(x, k).double() for k in ks}
    dims = math.prod(test.shape)

    def row(label, values: torch.Tensor):
        gain = values - elbo                                             # paired: the same digits
        return [label, float(values.mean()), float(-values.mean() / (dims * math.log(2))),
                float(gain.mean()), float(gain.std() / math.sqrt(n))]

    rows = [row("ELBO", elbo)] + [row(k, bounds[k]) for k in ks]
    plot = _bounds_plot(Path(out_dir) / "elbo-vs-iwae.png", ks, rows, n)
    diff = bounds[1] - elbo
    diff_mean, diff_se = float(diff.mean()), float(diff.std() / math.sqrt(n))
    bound_means = [r[1] for r in rows[1:]]
    steps_up = [b - a for a, b in zip(bound_means, bound_means[1:])]
    notes = [f"VAE (latent 8, discretised logistic) trained {steps} steps on {len(train)} digits; bounds on "
             f"{n} held-out digits (means; standard errors of the paired differences to the ELBO); "
             f"bits/dim = -bound / (64 ln 2).",
             f"K=1 minus ELBO: {diff_mean:+.3f} +- {diff_se:.3f} nats, "
             f"{'within' if abs(diff_mean) <= 2 * diff_se else 'outside'} two standard errors of 0 (K=1 is "
             f"the ELBO with a one-sample estimate of the KL term).",
             f"K={ks[-1]}: {rows[-1][1]:.2f} nats, {rows[-1][3]:.2f} +- {rows[-1][4]:.2f} above the ELBO; "
             f"gains between consecutive K: {', '.join(f'{g:+.2f}' for g in steps_up)} nats "
             f"({'all' if min(steps_up) >= 0 else 'not all'} >= 0)."]
    return Claim("elbo-vs-iwae", "The ELBO is a lower bound on log p(x); the IWAE bound rises with K towards it",
                 ["K", "bound (nats)", "bits/dim", "above ELBO", "std. error"], rows, plot, notes)


def _bounds_plot(path: Path, ks, rows, n: int) -> Path:
    """The IWAE bound against K on a log axis, the ELBO as a dashed level."""
    fig = figure(560, 400)
    ax = fig.add_axes((64 / 560, 52 / 400, 1 - 80 / 560, 1 - 80 / 400))        # margins for labels
    ax.plot(ks, [r[1] for r in rows[1:]], color=COLOURS[1], linewidth=2, marker="o", markersize=4,
            label="IWAE bound L_K")
    ax.plot(ks, [rows[0][1]] * len(ks), color=COLOURS[0], linewidth=2, linestyle="--", label="ELBO (exact KL)")
    ax.set_xscale("log")
    ax.set_xticks(ks, [str(k) for k in ks])
    ax.minorticks_off()
    ax.set_title(f"Held-out bounds on log p(x), nats per digit ({n} digits)", fontsize=10)
    ax.set_xlabel("K importance samples (log scale)", fontsize=9)
    ax.tick_params(labelsize=8)
    ax.grid(color=GRID_COLOUR, linewidth=0.8)
    ax.legend(loc="upper left", fontsize=8, frameon=False)
    return save_figure(fig, path)
