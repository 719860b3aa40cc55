"""Claims about training GANs: modes lost and regained, and the saturating minimax loss.

* mode-collapse: two GANs' coverage of ring8's modes against the training step, beside
  WGAN-GP and DDPM trained on the same data;
* minimax-saturation: the gradient the generator gets from log(1 - D(G(z))) vanishes as the
  discriminator grows confident, while that of -log D(G(z)) does not.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ..api import create
from ..data import load_dataset
from ..metrics.modes import mode_metrics
from ..models.adversarial import GENERATOR_LOSSES
from ..plot import GRID_COLOUR, figure, panel_grid, save_figure
from ..trainer import TrainConfig, Trainer
from .claim import COLOURS, Claim

# --------------------------------------------------------------------------- (a) mode collapse

TOY = "ring8"
REGION_SHARE = 0.02     # a mode's region is "reached" when it is the nearest mode of 2% of the samples
CLUMP_REGIONS = 2       # samples that reach at most this many regions form one clump: collapse


def collapse_runs(quick: bool) -> dict[str, tuple[str, str, dict]]:
    """label -> (short name, model name, settings).

    The first GAN is genlab's gan with its default settings (MLPs of width 256, latent_dim
    16, Adam lr 2e-4, beta1 0.5); the second is narrower and faster (width 128, lr 1e-3).
    Neither is the ring8 preset (latent_dim 2, lr 5e-4, batch 256, 16,000 steps), which
    benchmarks/modes.py found to cover all 8 modes. WGAN-GP uses Gulrajani et al.'s 2-D toy
    settings (lambda 0.1, betas (0.5, 0.9)) at lr 3e-4, DDPM its defaults at lr 3e-3; both
    at width 128. ``quick`` narrows all but the default GAN to width 64 and 2 layers.
    """
    width = dict(hidden=64, layers=2) if quick else dict(hidden=128, layers=3)
    return {
        "GAN (genlab defaults)": ("GAN", "gan", {}),
        f"GAN (lr 1e-3, width {width['hidden']})": ("GAN-fast", "gan", dict(width, lr=1e-3)),
        "WGAN-GP": ("WGAN-GP", "wgan-gp", dict(width, lr=3e-4, beta1=0.5, beta2=0.9, gp_weight=0.1)),
        "DDPM": ("DDPM", "ddpm", dict(width, lr=3e-3)),
    }


def sample_regions(x: torch.Tensor, modes: torch.Tensor) -> int:
    """How many modes are the nearest mode of at least REGION_SHARE of the samples ``x``:
    a collapsed generator's samples reach one or two regions, a spread-out but imprecise
    one reaches them all even when few of its samples are close enough to count as HQ."""
    nearest = torch.cdist(x.detach().double().cpu(), modes.double()).argmin(dim=1)   # (N,)
    counts = torch.bincount(nearest, minlength=len(modes))
    return int((counts >= REGION_SHARE * len(x)).sum())


def coverage_curve(name: str, settings: dict, data, steps: int, batch: int, every: int,
                   n_samples: int, seed: int = 0) -> list[dict]:
    """Train ``name`` on ``data`` with genlab's trainer; every ``every`` steps draw
    ``n_samples`` from fixed noise and record the mode metrics (VEEGAN/PacGAN, see
    ``metrics/modes.py``), :func:`sample_regions` and the samples themselves."""
    torch.manual_seed(seed)
    model = create(name, data=data, **settings)
    trainer = Trainer(model, data, TrainConfig(steps=steps, batch_size=batch, seed=seed, log_every=every,
                                               progress=False, device="cpu"))
    curve = []

    def monitor(m) -> dict:
        x = m.sample(n_samples, generator=torch.Generator().manual_seed(seed + 1))
        curve.append({"step": trainer.step, **mode_metrics(x, data.modes, data.sigma),
                      "regions": sample_regions(x, data.modes), "samples": x.detach().cpu()})
        return {}

    trainer.monitors = (monitor,)               # set after the trainer exists: the monitor reads its step
    trainer.run()
    return curve


def clumped_point(curve: list[dict]) -> dict:
    """The last logged point before the end at which the samples formed a clump, else the
    point whose samples reached the fewest regions."""
    clumps = [c for c in curve[:-1] if c["regions"] <= CLUMP_REGIONS]
    return clumps[-1] if clumps else min(curve, key=lambda c: c["regions"])


def _collapse_notes(curves: dict[str, list[dict]], k: int, batch: int, samples: int) -> list[str]:
    notes = [f"{TOY}, batch {batch}, seed 0; {samples} samples per point from fixed noise. A mode is covered "
             f"when a sample lies within 3 sigma of it; a clump: samples whose nearest mode is one of at most "
             f"{CLUMP_REGIONS} (of {k}) for >= {REGION_SHARE:.0%} of them.",
             f"GAN: genlab's default gan settings (MLPs of width 256, latent_dim 16, lr 2e-4); GAN-fast: lr 1e-3, "
             f"narrower; neither is the {TOY} preset (latent_dim 2, batch 256), with which benchmarks/modes.py "
             f"covers all {k} modes in 16,000 steps."]
    for label, curve in curves.items():
        modes = [c["modes"] for c in curve]
        clumps = [c for c in curve if c["regions"] <= CLUMP_REGIONS]
        full = next((c["step"] for c in curve if c["modes"] == k), None)
        text = (f"{label}: a clump at {len(clumps)} of {len(curve)} points; best {max(modes)} of {k} modes, "
                f"last {modes[-1]}, all {k} first at {'step ' + str(full) if full else 'no point'}")
        if clumps and clumps[-1] is not curve[-1]:
            after = [c["modes"] for c in curve if c["step"] > clumps[-1]["step"]]
            text += f"; after its last clump (step {clumps[-1]['step']}) up to {max(after)} modes"
        notes.append(text + ".")
    return notes


PANELS = (("modes", "modes covered (of {k})"), ("hq_percent", "% high-quality samples"),
          ("regions", "mode regions reached (>= 2% of samples)"))


def _coverage_plot(path: Path, curves: dict[str, list[dict]], shorts: list[str], data) -> Path:
    """Three panels of curves against the step, and samples of the two GANs (``shorts``
    names the runs): the first at its last point, the second at its last clump and at the end."""
    k = len(data.modes)
    fig = figure(1400, 400)
    fig.suptitle(f"Mode coverage on {TOY} during training (samples from fixed noise at each point)",
                 y=1 - 6 / 400, va="top", fontsize=11)
    axes = panel_grid(fig, 1, len(PANELS) + 1, top_px=22)[0]
    for ax, (key, title) in zip(axes, PANELS):
        for colour, (name, curve) in zip(COLOURS, curves.items()):
            ax.plot([c["step"] for c in curve], [c[key] for c in curve], color=colour, linewidth=1.6,
                    label=name)
        ax.set_title(title.format(k=k), fontsize=10)
        ax.set_xlabel("training step (generator updates)", fontsize=9)
        if key != "hq_percent":
            ax.set_ylim(-0.3, k + 0.5)
    axes[1].legend(loc="upper left", fontsize=8, frameon=False)
    gan, fast = list(curves.values())[:2]
    scatter = axes[-1]
    scatter.scatter(*data.x[:2000].T.numpy(), s=4, c="0.7", linewidths=0, label=f"{TOY} data")
    for colour, short, point in ((COLOURS[0], shorts[0], gan[-1]), ("tab:orange", shorts[1], clumped_point(fast)),
                                 (COLOURS[1], shorts[1], fast[-1])):
        scatter.scatter(*point["samples"].T.numpy(), s=3, c=colour, linewidths=0, alpha=0.6,
                        label=f"{short}, step {point['step']}")
    scatter.set_xlim(-1.8, 1.8)
    scatter.set_ylim(-1.8, 1.8)
    scatter.set_aspect("equal")
    scatter.set_title("GAN samples: clumps, and a spread", fontsize=10)
    scatter.legend(loc="upper right", fontsize=7, frameon=False, markerscale=3)
    for ax in axes:
        ax.tick_params(labelsize=8)
        ax.grid(color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
    return save_figure(fig, path)


def mode_collapse(out_dir: Path, quick: bool = False) -> Claim:
    """A GAN can collapse: its samples gather in one clump that wanders between the modes,
    covering one at a time or none, until (if ever) it spreads out and regains them; WGAN-GP
    and DDPM spread over the modes from the start and cover them steadily.

    Goodfellow et al. 2014 (section 6: the "Helvetica scenario", G maps many z to one x);
    Arjovsky et al. 2017 (section 4: a Lipschitz critic keeps giving useful gradients, and
    the authors saw no mode collapse in their WGAN experiments) and Gulrajani et al. 2017
    (the gradient penalty in place of clipping); Ho et al. 2020 (DDPM, trained by
    regression on noise: no game). The table lists the modes covered (Srivastava et al. 2017: a mode
    holds a sample within 3 sigma) and the mode regions the samples reach, at logged steps.
    """
    steps, every, samples = (250, 50, 500) if quick else (4000, 100, 1000)
    batch = 64
    data = load_dataset(TOY, n=10_000, seed=0)
    runs = collapse_runs(quick)
    curves = {label: coverage_curve(name, settings, data, steps, batch, every, samples)
              for label, (_, name, settings) in runs.items()}
    table_every = every if quick else 500
    first = next(iter(curves.values()))
    rows = [[point["step"]] + [curves[label][i][key] for key in ("modes", "regions") for label in curves]
            for i, point in enumerate(first) if point["step"] % table_every == 0]
    columns = ["step"] + [f"{short} {what}" for what in ("modes", "regions") for short, _, _ in runs.values()]
    plot = _coverage_plot(Path(out_dir) / "mode-collapse.png", curves, [short for short, _, _ in runs.values()], data)
    return Claim("mode-collapse", f"A GAN's samples can collapse into one clump that covers at most a mode of "
                 f"{TOY} at a time; WGAN-GP and DDPM spread over the modes and cover them",
                 columns, rows, plot, _collapse_notes(curves, len(data.modes), batch, samples))


# --------------------------------------------------------------------------- (b) saturation

D_LEVELS = (0.5, 0.3, 0.1, 0.03, 0.01, 3e-3, 1e-3, 3e-4, 1e-4)   # rows: first D step below each


def generator_gradient_norms(model, z: torch.Tensor) -> dict[str, float]:
    """||d L_G / d theta_G|| for each of genlab's generator losses, on the noise ``z``, with
    the mean D(G(z)); the losses are the gan model's own (``adversarial.GENERATOR_LOSSES``)."""
    params = list(model.generator.parameters())
    logits = model.discriminate(model.generate(z))
    out = {"d_fake": float(torch.sigmoid(logits.detach()).mean())}
    for name, loss in GENERATOR_LOSSES.items():
        grads = torch.autograd.grad(loss(logits), params, retain_graph=True)
        out[name] = float(torch.sqrt(sum(g.square().sum() for g in grads)))
    return out


def _train_discriminator_alone(model, data, steps: int, z: torch.Tensor, seed: int = 0,
                               every: int = 2) -> list[dict]:
    """Train D alone against the frozen G, by the model's own d_step and optimiser; every
    ``every`` D steps, measure the generator's gradients and mean D(x) on a fixed real batch."""
    opt = model.optimizers()["d"]
    g = torch.Generator().manual_seed(seed)
    real = data.x[torch.randint(len(data.x), (len(z),), generator=torch.Generator().manual_seed(seed + 7))]
    torch.manual_seed(seed)                                     # the fakes d_step draws
    trace = []
    for step in range(steps + 1):
        if step % every == 0 or step == steps:
            norms = generator_gradient_norms(model, z)
            with torch.no_grad():
                norms["d_real"] = float(torch.sigmoid(model.discriminate(real)).mean())
            trace.append({"d_steps": step, **norms})
        if step == steps:
            break
        x = data.x[torch.randint(len(data.x), (128,), generator=g)]
        opt.zero_grad(set_to_none=True)
        model.d_step(x)["loss"].backward()
        opt.step()
    return trace


def _binned(d: np.ndarray, values: np.ndarray, bins: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Medians of ``d`` and ``values`` in log-spaced bins of ``d``: mean D(G(z)) falls with
    ups and downs as D trains, and a line through the raw trace would zigzag."""
    edges = np.geomspace(d.min(), d.max() * (1 + 1e-9), bins + 1)
    which = np.digitize(d, edges) - 1
    kept = [b for b in range(bins) if (which == b).any()]
    return (np.array([np.median(d[which == b]) for b in kept]),
            np.array([np.median(values[which == b]) for b in kept]))


def _saturation_plot(path: Path, trace: list[dict]) -> Path:
    d = np.array([t["d_fake"] for t in trace])
    norms = {name: np.array([t[name] for t in trace]) for name in ("nonsaturating", "minimax")}
    fig = figure(920, 400)
    fig.suptitle("Generator gradient as the discriminator grows confident (D trained alone, G fixed)",
                 y=1 - 6 / 400, va="top", fontsize=11)
    left, right = panel_grid(fig, 1, 2, top_px=22)[0]
    for colour, (name, label) in zip(COLOURS, (("nonsaturating", "non-saturating  -log D(G(z))"),
                                               ("minimax", "minimax  log(1 - D(G(z)))"))):
        left.plot(*_binned(d, norms[name]), color=colour, linewidth=1.8, marker="o", markersize=3, label=label)
    x, ratio = _binned(d, norms["minimax"] / norms["nonsaturating"])
    right.plot(x, ratio, color=COLOURS[2], linewidth=1.8, marker="o", markersize=3,
               label="measured: minimax / non-saturating")
    right.plot(x, x / (1 - x), color=COLOURS[3], linewidth=1.5, linestyle="--", label="D / (1 - D)")
    for ax, title in ((left, "||dL_G / d theta_G|| (median per bin of D)"), (right, "ratio of the two norms")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.invert_xaxis()                                       # D grows more confident to the right
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("mean D(G(z))", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(color=GRID_COLOUR, linewidth=0.8)
        ax.legend(loc="lower left", fontsize=8, frameon=False)
    return save_figure(fig, path)


def minimax_saturation(out_dir: Path, quick: bool = False) -> Claim:
    """The minimax generator loss saturates when D rejects the fakes; -log D(G(z)) does not
    (Goodfellow et al. 2014, section 3).

    With D = sigmoid(a), d/da log(1 - D) = -D and d/da [-log D] = -(1 - D): per sample the
    two gradients differ by the factor D / (1 - D), which is tiny when D(G(z)) ~ 0. A small
    gan (genlab's networks and losses) trains briefly on ring8; then G is frozen and D
    trained alone until it is confident, and the norm of each loss's gradient with respect
    to G's parameters is measured on fixed noise as mean D(G(z)) falls.
    """
    pretrain, d_steps, n = (100, 1200, 256) if quick else (300, 3000, 1024)
    data = load_dataset(TOY, n=10_000, seed=0)
    torch.manual_seed(0)
    model = create("gan", data=data, hidden=64, layers=2, latent_dim=2, lr=1e-3)
    Trainer(model, data, TrainConfig(steps=pretrain, batch_size=128, seed=0, progress=False,
                                     device="cpu")).run()
    model.train()
    z = torch.randn(n, model.config.latent_dim, generator=torch.Generator().manual_seed(1))
    trace = _train_discriminator_alone(model, data, d_steps, z)
    rows = []
    for level in D_LEVELS:
        t = next((t for t in trace if t["d_fake"] < level), None)
        if t is not None:
            rows.append([t["d_steps"], t["d_fake"], t["d_real"], t["nonsaturating"], t["minimax"],
                         t["minimax"] / t["nonsaturating"]])
    plot = _saturation_plot(Path(out_dir) / "minimax-saturation.png", trace)
    first, last = trace[0], trace[-1]
    confident = [r for r in rows if r[1] < 0.1]
    notes = [f"G: gan MLP (hidden 64, 2 layers) after {pretrain} GAN steps on {TOY}, then fixed; D trained "
             f"alone {d_steps} steps; norms over G's parameters on {n} fixed z.",
             f"mean D(G(z)) {first['d_fake']:.3f} -> {last['d_fake']:.2g}: the minimax gradient norm went "
             f"{first['minimax']:.3g} -> {last['minimax']:.3g} (x{last['minimax'] / first['minimax']:.2g}), "
             f"the non-saturating one {first['nonsaturating']:.3g} -> {last['nonsaturating']:.3g} "
             f"(x{last['nonsaturating'] / first['nonsaturating']:.2g})."]
    if confident:
        ratio = [r[5] / (r[1] / (1 - r[1])) for r in confident]
        notes.append(f"for D(G(z)) < 0.1 the minimax norm is {min(1 / r[5] for r in confident):.3g} to "
                     f"{max(1 / r[5] for r in confident):.3g} times smaller; the ratio of the norms is "
                     f"{min(ratio):.2g} to {max(ratio):.2g} times D/(1-D) at the mean D, the factor between "
                     f"the two losses' gradients for a single sample.")
    return Claim("minimax-saturation", "When D is confident, log(1 - D(G(z))) gives G a vanishing gradient; "
                 "-log D(G(z)) does not",
                 ["D steps", "mean D(G(z))", "mean D(x)", "||grad|| non-saturating", "||grad|| minimax",
                  "ratio minimax/ns"], rows, plot, notes)
