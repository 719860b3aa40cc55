"""Scores for models of two domains: unpaired translation and domain adaptation.

Translation (``cyclegan``), for each direction A -> B and B -> A on N held-out images of the
source domain, with genlab's classifier trained on the *target* domain's train split:

- ``label_kept``: the fraction of translated images that the target classifier gives the
  label of their source image (a translation that keeps the digit);
- ``fd_translated`` and ``fd_untranslated``: Frechet distance on the target classifier's
  features from held-out target images to the translated images and to the inputs as they
  are; their ratio says how far translation moved the images towards the target domain;
- ``cycle_l1``: mean |x - G_back(G_there(x))| per pixel, images in [0, 1].

The real-vs-real values are the target classifier's test accuracy and the Frechet distance
between N train and N held-out target images.

Adaptation (``dann``): held-out accuracy on the source and on the target domain.
"""

from __future__ import annotations

import torch

from ..errors import DataError


def _batched(fn, x: torch.Tensor, batch_size: int = 256) -> torch.Tensor:
    with torch.no_grad():
        return torch.cat([fn(x[i:i + batch_size]).cpu() for i in range(0, len(x), batch_size)])


DIRECTIONS = {"a2b": ("a", "b"), "b2a": ("b", "a")}


def translation_scores(model, train, test, *, n: int = 1000, seed: int = 0, cache_dir=None,
                       directions=tuple(DIRECTIONS)) -> dict:
    """{metric: {"model": ..., "real": ...}} for each direction; see the module docstring."""
    from .features import feature_network
    from .images import frechet_distance

    model.eval()
    scores: dict = {}
    protocol: dict = {}
    for direction in directions:
        source, target = DIRECTIONS[direction]
        src_test, tgt_train, tgt_test = test.part(source), train.part(target), test.part(target)
        if src_test.y is None or tgt_train.y is None:
            raise DataError(f"translation scores need labels in both domains of {train.name}")
        k = min(n, len(src_test), len(tgt_test), len(tgt_train))
        pick = torch.randperm(len(src_test), generator=torch.Generator().manual_seed(seed))[:k]
        x, y = src_test.x[pick], src_test.y[pick]
        net = feature_network(tgt_train, tgt_test, seed=0, cache_dir=cache_dir)
        there = _batched(lambda t: model.translate(t, direction), x)
        back = _batched(lambda t: model.translate(t, "b2a" if direction == "a2b" else "a2b"), there)
        reference = net.features(tgt_test.x[:k])
        baseline = net.features(tgt_train.x[torch.randperm(len(tgt_train), generator=torch.Generator()
                                                           .manual_seed(seed + 1))[:k]])
        accuracy = net.accuracy(tgt_test)
        scores[f"{direction}_label_kept"] = {"model": float((net.probs(there).argmax(1) == y).float().mean()),
                                            "real": accuracy}
        scores[f"{direction}_fd_translated"] = {"model": frechet_distance(net.features(there), reference),
                                               "real": frechet_distance(baseline, reference)}
        scores[f"{direction}_fd_untranslated"] = {"model": frechet_distance(net.features(x), reference),
                                                 "real": None}
        scores[f"{direction}_cycle_l1"] = {"model": float((back - x).abs().mean()), "real": None}
        protocol[direction] = {"n": k, "classifier_test_accuracy": accuracy}
    return {"scores": scores, "protocol": protocol}


def adaptation_scores(model, test) -> dict:
    """Held-out source and target accuracy (``model.evaluate``) of a classifier on two-domain data."""
    model.eval()
    return {key: {"model": value, "real": None} for key, value in model.evaluate(test).items()}
