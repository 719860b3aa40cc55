"""Claims about n-gram language models.

* ngram-order: a higher order n fits the training text ever better (training perplexity
  falls) but generalises worse from some n on (held-out perplexity turns up): over-fitting,
  and smoothing decides how much it costs.

An order-n model predicts a word from the n-1 before it. Each extra word of context splits
the training counts into many more, rarer histories: the model can memorise its training
text, while more and more held-out n-grams are ones it has never seen. Without smoothing
(maximum likelihood, p = c(hw) / c(h)) a single unseen n-gram gets probability zero and the
held-out perplexity is infinite; add-k gives every unseen word the same small share; and
interpolated Kneser-Ney (Kneser & Ney 1995; Chen & Goodman 1998) falls back on the
(n-1)-gram estimate, so extra order costs it little (Jurafsky & Martin, "Speech and Language
Processing", chapter 3).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..plot import GRID_COLOUR, figure, panel_grid, save_figure
from .claim import COLOURS, Claim

ORDERS = (1, 2, 3, 4, 5, 6)
QUICK_CHAPTERS = 80                   # quick: a seeded random subset of the 1,189 chapters of kjv
ADD_K = 0.01                          # genlab's default add-k pseudo-count
MLE_K = 1e-12                         # add-k with a vanishing k: the maximum-likelihood estimate
# label -> ngram settings; the order of the table's column pairs and of the plot's colours
SMOOTHINGS = {"Kneser-Ney": dict(smoothing="kneser-ney"),
              f"add-k (k={ADD_K:g})": dict(smoothing="add-k", k=ADD_K),
              "none (MLE)": dict(smoothing="add-k", k=MLE_K)}


def unseen_fraction(model, texts) -> float:
    """The fraction of the tokens of ``texts`` whose whole n-gram (history and token) never
    occurs in ``model``'s training counts: the tokens an unsmoothed model gives probability 0."""
    from ..models.ngram import BOS, SPECIALS, lookup

    stream = model.encode(list(texts))
    v, ids, context = model.vocab_size, None, torch.zeros_like(stream)
    for table in model.tables():          # order by order: the id of the m-gram ending at each place
        ids = lookup(table["keys"], context, stream, v)
        context = torch.cat([torch.full((1,), -1), ids[:-1]])
    counts = getattr(model, f"counts_{model.config.order}")
    seen = (ids >= 0) & (counts[ids.clamp(min=0)] > 0)
    predicted = stream != SPECIALS.index(BOS)
    return float(1 - seen[predicted].double().mean())


def _perplexities(train_texts, test_texts) -> dict[str, dict[str, list[float]]]:
    """Per smoothing: training and held-out perplexity at every order, and (for the MLE) the
    fraction of held-out n-grams unseen in training."""
    import genlab

    out = {label: {"train": [], "held-out": [], "unseen": []} for label in SMOOTHINGS}
    for order in ORDERS:
        for label, settings in SMOOTHINGS.items():
            model = genlab.create("ngram", order=order, **settings).fit(train_texts)
            out[label]["train"].append(model.perplexity(train_texts))
            held_out = model.perplexity(test_texts)
            if settings["smoothing"] == "add-k" and settings["k"] == MLE_K:
                unseen = unseen_fraction(model, test_texts)
                out[label]["unseen"].append(unseen)
                held_out = math.inf if unseen > 0 else held_out    # p = 0 for an unseen n-gram
            out[label]["held-out"].append(held_out)
    return out


def _falls(values: list[float]) -> bool:
    return all(b < a for a, b in zip(values, values[1:]))


def ngram_order(out_dir: Path, quick: bool = False) -> Claim:
    """Training perplexity falls with the order n while held-out perplexity turns up.

    genlab's ``ngram`` (words, tokens seen once become ``<unk>``) on the King James Bible
    (``kjv``, 20 % of the chapters held out, seed 0; quick: a seeded subset of
    QUICK_CHAPTERS chapters), for n = 1..6, with interpolated modified Kneser-Ney, add-k
    (k = 0.01) and no smoothing (add-k with k = 1e-12, i.e. maximum likelihood). Perplexity
    is 2 ** bits per token, sentence ends included.
    """
    from ..data import load_dataset
    from ..runs import SPLIT_SEED, TEST_FRACTION

    data = load_dataset("kjv", n=QUICK_CHAPTERS if quick else None, seed=0)
    train, test = data.split(TEST_FRACTION, seed=SPLIT_SEED)
    ppl = _perplexities(list(train.texts), list(test.texts))
    kn, addk, mle = (ppl[label] for label in SMOOTHINGS)
    rows = [[n, kn["train"][i], kn["held-out"][i], addk["train"][i], addk["held-out"][i], mle["train"][i],
             mle["held-out"][i], 100 * mle["unseen"][i]] for i, n in enumerate(ORDERS)]

    notes = [f"kjv: {len(train)} chapters for training ({sum(len(t.split()) for t in train.texts):,} words), "
             f"{len(test)} held out"]
    for label in ("none (MLE)", "Kneser-Ney"):
        values = ppl[label]["train"]
        notes.append(f"training perplexity, {label}: {values[0]:.1f} at n = 1 to {values[-1]:.2f} at n = {ORDERS[-1]}"
                     f" ({'falling at every order' if _falls(values) else 'not falling at every order'})")
    for label in ("Kneser-Ney", f"add-k (k={ADD_K:g})"):
        held = ppl[label]["held-out"]
        best = int(np.argmin(held))
        notes.append(f"held-out perplexity, {label}: lowest {held[best]:.2f} at n = {ORDERS[best]}, "
                     f"{held[-1]:.2f} at n = {ORDERS[-1]} ({held[-1] / held[best]:.3f}x its lowest)")
    first_inf = next((n for n, h in zip(ORDERS, mle["held-out"]) if math.isinf(h)), None)
    if first_inf is not None:
        i = ORDERS.index(first_inf)
        notes.append(f"no smoothing: from n = {first_inf} on, held-out n-grams never seen in training "
                     f"({100 * mle['unseen'][i]:.1f}% at n = {first_inf}, {100 * mle['unseen'][-1]:.1f}% at "
                     f"n = {ORDERS[-1]}) get probability 0: infinite held-out perplexity")
    kn_best, addk_best = min(kn["held-out"]), min(addk["held-out"])
    notes.append(f"smoothing: Kneser-Ney's best held-out perplexity {kn_best:.1f} is "
                 f"{addk_best / kn_best:.2f}x lower than add-k's best {addk_best:.1f}")

    plot = _plot(Path(out_dir) / "ngram-order.png", ppl, len(train), len(test))
    return Claim("ngram-order", "n-gram order: training perplexity falls with n, held-out perplexity "
                 "turns up (over-fitting); smoothing decides by how much",
                 ["n", "KN train", "KN held-out", "add-k train", "add-k held-out", "MLE train", "MLE held-out",
                  "% held-out unseen"], rows, plot, notes)


def _plot(path: Path, ppl: dict, n_train: int, n_test: int) -> Path:
    """Left: perplexity against n, one colour per smoothing, training dashed and held-out
    solid (log scale; infinite values are left out). Right: % of held-out n-grams unseen."""
    fig = figure(1000, 420)
    left, right = panel_grid(fig, 1, 2, top_px=10)[0]
    for colour, (label, values) in zip(COLOURS, ppl.items()):
        held = np.array(values["held-out"], dtype=float)
        left.plot(ORDERS, values["train"], color=colour, linestyle="--", marker="o", markersize=3,
                  label=f"{label}, train")
        if np.isfinite(held).any():
            infinite = [n for n, h in zip(ORDERS, held) if not np.isfinite(h)]
            shown = f" (infinite from n={infinite[0]})" if infinite else ""
            left.plot(ORDERS, np.where(np.isfinite(held), held, np.nan), color=colour, marker="o", markersize=4,
                      linewidth=2, label=f"{label}, held-out{shown}")
    left.set_yscale("log")
    finite = [v for values in ppl.values() for key in ("train", "held-out") for v in values[key] if math.isfinite(v)]
    left.set_ylim(min(finite) / 10, max(finite) * 1.5)          # room for the legend below the curves
    left.set_title(f"kjv, {n_train} chapters train / {n_test} held out: perplexity vs order", fontsize=10)
    left.set_ylabel("perplexity (log scale)", fontsize=9)
    mle = next(v for label, v in ppl.items() if label.startswith("none"))
    right.bar(ORDERS, [100 * u for u in mle["unseen"]], color=COLOURS[2], width=0.6)
    right.set_title("held-out n-grams never seen in training", fontsize=10)
    right.set_ylabel("% of held-out tokens (MLE: p = 0)", fontsize=9)
    right.set_ylim(0, 100)
    for ax in (left, right):
        ax.set_xlabel("order n", fontsize=9)
        ax.set_xticks(ORDERS)
        ax.tick_params(labelsize=8)
        ax.grid(color=GRID_COLOUR, linewidth=0.8)
        ax.set_axisbelow(True)
    left.legend(loc="lower left", fontsize=7, frameon=False, ncol=2)
    return save_figure(fig, path)
