"""Claims about diffusion models.

* ddim-steps: diffusion sampling is slow, since the ancestral sampler of a DDPM (Ho, Jain &
  Abbeel 2020, "Denoising Diffusion Probabilistic Models", algorithm 2) runs the network
  once per step of the T = 1000 steps it was trained with; DDIM (Song, Meng & Ermon 2021,
  "Denoising Diffusion Implicit Models", eq. 12, eta = 0) reuses the same trained network on
  a few evenly spaced steps, and buys most of the speed back at little cost in quality, down
  to some number of steps below which the samples degrade.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from .claim import COLOURS, Claim

# (steps of training, batch, hidden width of the residual MLP, samples per sampler, DDIM steps)
BUDGETS = {False: dict(steps=4000, batch=256, hidden=256, n=2000, ddim=(5, 10, 20, 50, 100, 200, 1000)),
           True: dict(steps=700, batch=256, hidden=64, n=500, ddim=(5, 10, 50))}
TIMESTEPS = 1000                # T: the ancestral sampler always takes all of them
W1_CLOSE = 1.25                 # "as good as ancestral": sliced W1 at most this many times its value


def _timed_samples(model, n: int, seed: int, **settings) -> tuple[torch.Tensor, float]:
    """n samples with the sampling ``settings`` from a fixed seed, and the CPU seconds of
    this process they took (robust to other work on the machine, unlike wall-clock time)."""
    begin = time.process_time()
    with torch.no_grad():
        x = model.sample(n, generator=torch.Generator().manual_seed(seed), **settings)
    return x, time.process_time() - begin


def ddim_steps(out_dir: Path, quick: bool = False) -> Claim:
    """DDIM's few steps against the 1,000 ancestral steps of one trained DDPM.

    One ``ddpm`` (T = 1000, linear schedule, eps-prediction, EMA; genlab's ring8 preset:
    residual MLP of width 256, 4,000 steps of batch 256; quick: width 64, 700 steps) trains
    on the run split of ``ring8``. The same N samples (2,000; quick 500), from one seed, are
    drawn by the ancestral sampler and by DDIM (eta = 0) with 5 to 1,000 steps, and scored
    with ``genlab.evaluate`` against fresh ring8 draws: sliced Wasserstein-1 (lower is better)
    and the mode metrics (% of samples within 3 sigma of a mode, modes hit).
    """
    import genlab
    from ..evaluation import evaluate
    from ..runs import SPLIT_SEED, TEST_FRACTION

    budget = BUDGETS[bool(quick)]
    train, test = genlab.load_dataset("ring8").split(TEST_FRACTION, seed=SPLIT_SEED)
    torch.manual_seed(0)
    model = genlab.create("ddpm", data=train, timesteps=TIMESTEPS, hidden=budget["hidden"], layers=3)
    begin = time.process_time()
    genlab.train(model, train, steps=budget["steps"], batch_size=budget["batch"], seed=0, progress=False,
                 monitor=False)
    train_seconds = time.process_time() - begin
    model.eval()

    samplers = [("ddpm (ancestral)", TIMESTEPS, dict(sampler="ddpm"))]
    samplers += [("ddim (eta 0)", k, dict(sampler="ddim", sampling_steps=k, eta=0.0)) for k in budget["ddim"]]
    rows, real = [], None
    for label, steps, settings in samplers:
        x, seconds = _timed_samples(model, budget["n"], seed=0, **settings)
        scores = evaluate(x, train, test, n=budget["n"], metrics=["modes", "wasserstein"], seed=0)["scores"]
        real = {k: s["real"] for k, s in scores.items()}
        rows.append([label, steps, seconds, 0.0, scores["sliced_w1"]["model"], scores["hq_percent"]["model"],
                     scores["modes"]["model"]])
    slow = rows[0][2]
    for row in rows:
        row[3] = slow / max(row[2], 1e-9)                        # speed-up over the ancestral sampler

    ancestral_w1 = rows[0][4]
    ddim = rows[1:]
    close = [r for r in ddim if r[4] <= ancestral_w1 * W1_CLOSE]
    by_steps = {r[1]: r for r in ddim}
    notes = [f"ddpm on ring8: {budget['steps']:,} steps x batch {budget['batch']} in {train_seconds:.1f} CPU s; "
             f"N = {budget['n']} samples per sampler; sampling times are CPU seconds of this process",
             f"real vs real at the same N: sliced W1 {real['sliced_w1']:.4f}, {real['hq_percent']:.1f}% HQ, "
             f"{real['modes']} modes"]
    if 10 in by_steps:
        r = by_steps[10]
        notes.append(f"DDIM with 10 steps: {r[3]:.0f}x faster than the {TIMESTEPS} ancestral steps "
                     f"({r[2]:.3f} s against {slow:.2f} s), sliced W1 {r[4]:.4f} against {ancestral_w1:.4f}")
    if close:
        fewest = min(close, key=lambda r: r[1])
        notes.append(f"fewest DDIM steps with sliced W1 within {W1_CLOSE:g}x the ancestral sampler's: "
                     f"{fewest[1]} ({fewest[3]:.0f}x faster)")
    else:
        notes.append(f"no DDIM step count came within {W1_CLOSE:g}x the ancestral sampler's sliced W1")
    few = min(ddim, key=lambda r: r[1])
    verdict = "degrade" if few[4] > ancestral_w1 * W1_CLOSE else "hold up"
    notes.append(f"with only {few[1]} steps DDIM's samples {verdict}: sliced W1 {few[4]:.4f} "
                 f"({few[4] / ancestral_w1:.1f}x the ancestral sampler's), {few[5]:.1f}% HQ")
    plot = _plot(Path(out_dir) / "ddim-steps.png", rows, real)
    return Claim("ddim-steps", "DDPM sampling is slow (one network call per step of T = 1000); DDIM on a few "
                 "of the steps buys the speed back at little cost in quality",
                 ["sampler", "steps", "CPU seconds", "speed-up", "sliced W1", "% HQ", "modes"], rows, plot, notes)



def _plot(path: Path, rows: list[list], real: dict) -> Path:
    """Left: sampling seconds against steps (log-log); right: sliced W1 against steps, the
    ancestral sampler and real-vs-real as horizontal references."""
    from matplotlib.ticker import NullLocator

    from ..plot import GRID_COLOUR, figure, panel_grid, save_figure

    fig = figure(1000, 400)
    left, right = panel_grid(fig, 1, 2, top_px=10)[0]
    ancestral, ddim = rows[0], rows[1:]
    steps = [r[1] for r in ddim]
    left.plot(steps, [r[2] for r in ddim], color=COLOURS[0], marker="o", linewidth=2, label="DDIM (eta 0)")
    left.scatter([ancestral[1]], [ancestral[2]], color=COLOURS[1], s=60, zorder=3,
                 label=f"DDPM ancestral, {ancestral[1]} steps")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_ylabel("CPU seconds for the samples (log)", fontsize=9)
    left.set_title("sampling time against the number of steps", fontsize=10)
    right.plot(steps, [r[4] for r in ddim], color=COLOURS[0], marker="o", linewidth=2, label="DDIM (eta 0)")
    right.axhline(ancestral[4], color=COLOURS[1], linestyle="--", label=f"DDPM ancestral, {ancestral[1]} steps")
    right.axhline(real["sliced_w1"], color=COLOURS[2], linestyle=":", label="real vs real")
    right.set_xscale("log")
    right.set_ylim(0, 1.1 * max(r[4] for r in rows))
    right.set_ylabel("sliced W1 to ring8 (lower is better)", fontsize=9)
    right.set_title("sample quality against the number of steps", fontsize=10)
    for ax in (left, right):
        ax.set_xlabel("sampling steps (network evaluations)", fontsize=9)
        ticks = sorted({*steps, ancestral[1]})
        ax.xaxis.set_minor_locator(NullLocator())              # only the step counts measured
        ax.set_xticks(ticks, [str(t) for t in ticks])
        ax.set_xlim(min(ticks) / 1.5, max(ticks) * 1.5)
        ax.tick_params(labelsize=8)
        ax.grid(color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
        ax.legend(loc="upper left" if ax is left else "upper right", fontsize=8, frameon=False)
    return save_figure(fig, path)
