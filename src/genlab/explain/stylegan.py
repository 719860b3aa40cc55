"""Claims about StyleGAN.

* truncation: the truncation trick trades diversity for quality. StyleGAN (Karras, Laine &
  Aila 2019, "A Style-Based Generator Architecture for Generative Adversarial Networks",
  section 3.1 and appendix B) maps noise z to an intermediate latent w, and can sample
  w' = w_avg + psi (w - w_avg): with psi < 1 every style is pulled towards the average one,
  where the generator was trained most and its images look most typical. Precision (the
  share of samples that look like some real image) rises, recall (the share of real images
  the samples come close to) falls; at psi = 0 every sample gets the same styles.

Precision and recall are the k-nearest-neighbour estimates of Kynkaanniemi et al. (2019) in
the feature space of the classifier genlab trains on the data, with the reference set and the
real-vs-real baseline of ``genlab.evaluate`` (metric ``features``).
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .claim import COLOURS, Claim

PSIS = (0.0, 0.25, 0.5, 0.75, 1.0)
# a StyleGAN on the smallest images genlab has (digits, 8x8): a full one on mnist5k needs
# about 12 CPU minutes (benchmarks/stylegan.py), far over a claim's budget
BUDGETS = {False: dict(steps=1500, width=32, latent_dim=64, n=800),
           True: dict(steps=100, width=16, latent_dim=32, n=300)}
BATCH = 32
GRID_COLUMNS = 6                # samples per psi in the figure


def truncation(out_dir: Path, quick: bool = False) -> Claim:
    """Precision rises and recall falls as truncation psi goes from 1 to 0.

    A ``stylegan`` (1-layer mapping, no style mixing: genlab's defaults; width 32 and w of
    size 64; quick: width 16, w of 32) trains on the run split of ``digits`` for 1,500 steps
    of batch 32 (quick: 100 steps), a tiny budget: samples are digit-like, not good. Then
    the same N codes z and noise (800; quick 300) are drawn at each psi from the EMA
    generator and scored against N real images, beside the real-vs-real values.
    """
    import genlab
    from ..runs import SPLIT_SEED, TEST_FRACTION

    budget = BUDGETS[bool(quick)]
    train, test = genlab.load_dataset("digits").split(TEST_FRACTION, seed=SPLIT_SEED)
    torch.manual_seed(0)
    model = genlab.create("stylegan", data=train, width=budget["width"], latent_dim=budget["latent_dim"])
    begin = time.process_time()
    genlab.train(model, train, steps=budget["steps"], batch_size=BATCH, seed=0, progress=False, monitor=False)
    train_seconds = time.process_time() - begin
    model.eval()

    score = _scorer(train, test, budget["n"])
    rows, grids = [], []
    for psi in PSIS:
        with torch.no_grad():
            x = model.sample(budget["n"], generator=torch.Generator().manual_seed(1), truncation=psi)
        figures, real = score(x)
        rows.append([psi, *figures])
        grids.append(x[:GRID_COLUMNS])

    full, zero = rows[-1], rows[0]
    best_precision = max(rows, key=lambda r: r[1])
    notes = [f"stylegan on digits: {budget['steps']:,} steps x batch {BATCH} in {train_seconds:.1f} CPU s (a tiny "
             f"budget, so that the claim runs in minutes); N = {budget['n']} samples per psi, the same z for each",
             f"real vs real at the same N: precision {real[0]:.3f}, recall {real[1]:.3f}, FD {real[2]:.3f}, "
             f"{real[3]} classes",
             f"psi 1 -> 0: recall {full[2]:.3f} -> {zero[2]:.3f}, classes hit {full[4]} -> {zero[4]} (diversity "
             f"{'falls' if zero[2] < full[2] else 'does not fall'})",
             f"precision {full[1]:.3f} at psi = 1, highest {best_precision[1]:.3f} at psi = {best_precision[0]:g} "
             f"(quality {'rises' if best_precision[1] > full[1] else 'does not rise'} with truncation)"]
    plot = _plot(Path(out_dir) / "truncation.png", rows, real, grids)
    return Claim("truncation", "StyleGAN's truncation psi trades diversity (recall) for quality (precision)",
                 ["psi", "precision", "recall", "FD", "classes"], rows, plot, notes)


def _scorer(train, test, n: int):
    """``score(x)``: ((precision, recall, Frechet distance, classes hit) of images ``x``, the
    same figures for n real images against the same reference: the real-vs-real baseline),
    by :func:`genlab.metrics.images.image_metrics` on genlab's classifier for the data, as
    ``genlab eval`` scores images."""
    from ..metrics.features import feature_network
    from ..metrics.images import image_metrics

    net = feature_network(train, test, seed=0)
    real = torch.cat([train.x, test.x])

    def score(x: torch.Tensor) -> tuple[list, list]:
        result = image_metrics(net, real, x, n=n, seed=0)
        return tuple([s["precision"], s["recall"], s["frechet_distance"], s["classes_hit"]]
                     for s in (result["model"], result["real_vs_real"]))

    return score


def _plot(path: Path, rows: list[list], real: dict, grids: list[torch.Tensor]) -> Path:
    """Left: precision and recall against psi, the real-vs-real values (``real``: precision,
    recall, ...) dashed. Right: the
    same codes' samples at every psi, one row each."""
    from ..plot import GRID_COLOUR, figure, image_grid, save_figure

    fig = figure(1000, 420)
    left = fig.add_axes((0.06, 0.12, 0.42, 0.78))
    psis = [r[0] for r in rows]
    for colour, (label, column) in zip(COLOURS, [("precision (quality)", 1), ("recall (diversity)", 2)]):
        left.plot(psis, [r[column] for r in rows], color=colour, marker="o", linewidth=2, label=label)
        left.axhline(real[column - 1], color=colour, linestyle="--", linewidth=1,
                     label=f"{label.split()[0]}, real vs real")
    left.set_xlabel("truncation psi (0: every sample gets the average style)", fontsize=9)
    left.set_xticks(psis)
    left.set_ylim(-0.03, 1.03)
    left.set_title("precision and recall (k = 3) against psi", fontsize=10)
    left.tick_params(labelsize=8)
    left.grid(color=GRID_COLOUR, linewidth=0.8)
    left.legend(loc="center left", fontsize=8, frameon=False)
    right = fig.add_axes((0.56, 0.12, 0.42, 0.78))
    picture = image_grid(torch.cat(grids), nrow=GRID_COLUMNS)      # one row per psi, grey padding
    right.imshow(picture, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    tile = picture.height / len(grids)
    right.set_yticks([tile * (i + 0.5) for i in range(len(grids))], [f"psi {p:g}" for p in psis])
    right.set_xticks([])
    right.tick_params(labelsize=8, length=0)
    right.set_title("the same codes z at each psi", fontsize=10)
    return save_figure(fig, path)
