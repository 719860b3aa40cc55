"""``genlab eval``: the metrics that fit a model's data, each beside its real-vs-real value.

The metrics follow docs/EVALUATION.md. Which ones apply is decided by the data: mode metrics on
2-D toys with known modes; sliced Wasserstein-1 and MMD on any point data; likelihood where
the model defines it (exact for gmm; for the VAE family the -ELBO and the IWAE bound with K
importance samples, in nats per image for binarised data and bits/dim for multi-level
images); Frechet distance, KID, precision/recall and density/coverage on the features of a
classifier genlab trains on the labelled image data, and the classifier's class statistics.
Every score is stored with its protocol (data, split, N, seeds, feature-network hash and
accuracy) so it can be reproduced.
"""

from __future__ import annotations

from pathlib import Path

import torch

from .errors import ConfigError, DataError

METRICS = {
    "modes": "modes covered, % high-quality samples, reverse KL over modes (2-D toys, 3 sigma)",
    "wasserstein": "sliced Wasserstein-1 between samples and held-out data (points; 256 projections)",
    "mmd": "unbiased MMD^2, RBF kernel with median bandwidth (points)",
    "likelihood": "held-out log-likelihood, bits/dim or a bound on them, where the model defines it",
    "features": "Frechet distance, KID, precision/recall (k=3), density/coverage (k=5) on genlab features",
    "classes": "Inception-style score and class coverage from the genlab classifier; for class-conditional "
               "models, the accuracy of the classifier on samples drawn for each class",
    "translation": "two-domain images (cyclegan): labels kept by translation, Frechet distance to the target "
                   "domain before and after translation, cycle error",
    "adaptation": "two-domain data (dann): held-out accuracy on the source and the target domain",
}
METRIC_ALIASES = {"fid": "features", "kid": "features", "precision": "features", "recall": "features",
                  "inception": "classes", "is": "classes"}  # names users type for the metric that holds them
DOMAIN_METRICS = ("translation", "adaptation")
# which way each score improves, for marking the best of several runs: "lower" or "higher";
# a score absent here (a count of tokens, a standard error) has no best
LOWER_BETTER = ("frechet_distance", "kid", "kl_to_uniform", "reverse_kl", "sliced_w1", "mmd2_rbf", "nll",
                "negative_elbo", "bits_per_dim", "iwae_nll", "iwae_bits_per_dim", "perplexity", "bits_per_token",
                "cycle_l1", "fd_translated")
# unbiased estimates of a quantity that is never negative (MMD^2, KID): a value below 0 is
# noise around 0, so they rank as max(value, 0) and every estimate at or below 0 ties
UNBIASED_SQUARES = ("kid", "mmd2_rbf")
HIGHER_BETTER = ("precision", "recall", "density", "coverage", "inception_score", "classes_hit",
                 "conditional_accuracy", "modes", "hq_percent", "log_likelihood", "accuracy", "label_kept",
                 "source_accuracy", "target_accuracy")


def rank_value(score: str, value: float) -> float:
    """The value ``score`` is ranked by: itself, or 0 for a negative unbiased estimate of a
    square (``UNBIASED_SQUARES``), which cannot be told from 0."""
    base = score.split("/")[-1]
    if any(base == name or base.endswith("_" + name) for name in UNBIASED_SQUARES):
        return max(value, 0.0)
    return value


def better(score: str) -> str | None:
    """``"lower"`` or ``"higher"``: which way ``score`` improves (a key of ``eval.json``'s
    scores, or one with a prefix such as ``a2b_``); None where no value is better."""
    base = score.split("/")[-1]
    for name in sorted([*LOWER_BETTER, *HIGHER_BETTER], key=len, reverse=True):  # longest match first
        if base == name or base.endswith("_" + name):
            return "lower" if name in LOWER_BETTER else "higher"
    return None
LABELLED = ("features", "classes")
DEFAULT_N = {"points": 2_500, "image": 1_000, "text": 100}
IWAE_K = 1_000


def default_metrics(model, data) -> list[str]:
    """The metrics that fit ``data`` (and ``model``, for likelihood)."""
    if data.domain is not None:
        return ["translation" if model is not None and model.translates else "adaptation"]
    if data.kind == "points":
        names = (["modes"] if data.modes is not None else []) + ["wasserstein", "mmd"]
    else:
        names = list(LABELLED) if data.y is not None else []
    if model is not None and model.likelihood:
        names.append("likelihood")
    return names


def resolve_metrics(names: list[str]) -> list[str]:
    """Metric names with the aliases (``fid``, ``kid``, ...) replaced, each once, in order."""
    from .errors import did_you_mean

    out = []
    for name in names:
        name = METRIC_ALIASES.get(name.lower(), name)
        if name not in METRICS:
            raise ConfigError(f"unknown metric {name!r}{did_you_mean(name, [*METRICS, *METRIC_ALIASES])}; "
                              f"valid metrics: {', '.join(METRICS)} (fid and kid are in features)")
        if name not in out:
            out.append(name)
    return out


def check_metrics(names: list[str], data) -> None:
    if (data.domain is not None) != all(m in DOMAIN_METRICS for m in names):
        raise DataError(f"metrics {', '.join(DOMAIN_METRICS)} are for two-domain data, and only they are: "
                        f"{data.name} {'holds' if data.domain is not None else 'does not hold'} two domains")
    for name in names:
        if name in LABELLED and data.y is None:
            raise DataError(f"metric {name!r} needs labelled data (it trains a classifier); {data.name} has no labels")
        if name in LABELLED and data.kind != "image":
            raise DataError(f"metric {name!r} is for images; {data.name} holds points")
        if name in ("modes",) and data.modes is None:
            raise DataError(f"metric 'modes' needs data with known modes (ring8, grid25); {data.name} has none")
        if name in ("wasserstein", "mmd") and data.kind != "points":
            raise DataError(f"metric {name!r} is for point data; use 'features' for images")


STORED_TRAIN, STORED_TEST = 20_000, 10_000  # examples of an image store evaluation reads


def evaluate(model_or_samples, train, test=None, *, n: int | None = None, metrics: list[str] | None = None,
             seed: int = 0, cache_dir=None, iwae_k: int = IWAE_K) -> dict:
    """Score a model (or a tensor of its samples) against held-out data; returns a JSON-able
    dict ``{"scores": {metric: {"model": ..., "real": ...}}, "protocol": {...}}``.

    ``train`` and ``test`` are the run's split; given one whole dataset, it is split the
    way every run splits it (20 % held out, seed 0).
    """
    if test is None:
        from .runs import SPLIT_SEED, TEST_FRACTION

        train, test = train.split(TEST_FRACTION, seed=SPLIT_SEED)
    if train.stored:  # an image folder held as uint8 or streamed: at most these many read as floats
        train, test = train.dense(STORED_TRAIN), test.dense(STORED_TEST)
    model = None if isinstance(model_or_samples, torch.Tensor) else model_or_samples
    names = resolve_metrics(metrics) if metrics else default_metrics(model, train)
    check_metrics(names, train)
    if train.domain is not None:
        return _domain_scores(model, names, train, test, n, seed, cache_dir)
    if "likelihood" in names and model is None:
        raise ConfigError("metric 'likelihood' needs a model, not samples")
    if iwae_k < 1:
        raise ConfigError(f"--iwae-k must be a positive number of importance samples, got {iwae_k}")
    n = resolve_n(n, train, test)
    labels = _requested_labels(model, n)
    only_likelihood = train.kind == "text" or set(names) <= {"likelihood"}  # no samples needed
    fake = None if only_likelihood else _samples(model_or_samples, n, seed, labels)
    protocol = {"data": train.name, "split": train.split_info, "n": n, "seed": seed, "metrics": names,
                "sampler": {"generator_seed": seed, "device": "cpu" if model is None else str(model.device)}}
    scores: dict = {}
    if train.kind == "points":
        scores.update(_point_scores(names, fake, train, test, n, seed))
    if any(m in LABELLED for m in names):
        scores.update(_image_scores(names, fake, train, test, n, seed, cache_dir, protocol, labels))
    if "likelihood" in names:
        scores.update(_likelihood(model, test, iwae_k, protocol))
    return {"scores": scores, "protocol": protocol}


def _domain_scores(model, names, train, test, n, seed, cache_dir) -> dict:
    """Translation or adaptation scores (``metrics/domains.py``) of a two-domain model."""
    from .metrics.domains import adaptation_scores, translation_scores

    if model is None:
        raise ConfigError(f"metrics {', '.join(names)} need the model, not samples")
    n = n or (DEFAULT_N["image"] if "translation" in names else len(test.part("b")))
    protocol = {"data": train.name, "split": train.split_info, "n": n, "seed": seed}
    scores: dict = {}
    if "translation" in names:
        if not model.translates:
            raise ConfigError(f"metric 'translation' needs a translation model (cyclegan); {model.name} is not one")
        result = translation_scores(model, train, test, n=n, seed=seed, cache_dir=cache_dir)
        scores.update(result["scores"])
        protocol["translation"] = result["protocol"]
    if "adaptation" in names:
        if not model.classifies:
            raise ConfigError(f"metric 'adaptation' needs a classifier (dann); {model.name} is not one")
        scores.update(adaptation_scores(model, test))
    return {"scores": scores, "protocol": protocol}


def resolve_n(n: int | None, train, test) -> int:
    """The N to use: the default for the data kind clipped to what the data allow, or the
    user's N, which must fit (toys draw fresh real samples, so any N fits them)."""
    from .data import toys

    if train.name in toys.TOYS:
        available = None
    elif train.kind == "image":
        available = (len(train) + len(test)) // 2  # a reference set and a real baseline of N each
    else:
        available = min(len(train), len(test))
    if n is None:
        return DEFAULT_N[train.kind] if available is None else min(DEFAULT_N[train.kind], available)
    if n < 1:
        raise ConfigError(f"--n must be positive, got {n}")
    if available is not None and n > available:
        raise DataError(f"N = {n} is larger than the {available} real examples of {train.name} available "
                        f"for a reference set and a real-vs-real baseline")
    return n


def _requested_labels(model, n: int) -> torch.Tensor | None:
    """Balanced labels 0, 1, ..., k-1, 0, 1, ... for a class-conditional model, else None."""
    if model is None or not model.conditional:
        return None
    return torch.arange(n) % model.config.num_classes


def _samples(model_or_samples, n: int, seed: int, labels: torch.Tensor | None = None) -> torch.Tensor:
    if isinstance(model_or_samples, torch.Tensor):
        if len(model_or_samples) < n:
            raise DataError(f"N = {n} is larger than the {len(model_or_samples)} samples given")
        return model_or_samples[:n].detach().cpu()
    model = model_or_samples.eval()
    with torch.no_grad():
        generator = torch.Generator(model.device).manual_seed(seed)
        if labels is None:
            return model.sample(n, generator=generator).detach().cpu()
        return model.sample(n, labels=labels.to(model.device), generator=generator).detach().cpu()


def _real_points(train, test, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(reference, baseline): held-out data and an independent real set of the same size.

    Toys know their distribution, so both are fresh draws; other point data use the test
    split as reference and the train split as the baseline, and must have ``n`` of each.
    """
    from .data import toys

    if train.name in toys.TOYS:
        g = torch.Generator().manual_seed(seed + 1)
        return toys.sample(train.name, n, g), toys.sample(train.name, n, g)
    return test.x[:n], train.x[:n]


def _point_scores(names, fake, train, test, n, seed) -> dict:
    from .metrics import mmd2_unbiased, mode_metrics, sliced_wasserstein

    reference, baseline = _real_points(train, test, n, seed)
    scores = {}
    if "modes" in names:
        model_m, real_m = mode_metrics(fake, train.modes, train.sigma), mode_metrics(baseline, train.modes, train.sigma)
        scores.update({k: {"model": model_m[k], "real": real_m[k]} for k in model_m})
    if "wasserstein" in names:
        scores["sliced_w1"] = {"model": sliced_wasserstein(fake, reference, seed=seed),
                               "real": sliced_wasserstein(baseline, reference, seed=seed)}
    if "mmd" in names:
        scores["mmd2_rbf"] = {"model": mmd2_unbiased(fake, reference), "real": mmd2_unbiased(baseline, reference)}
    return scores


def _image_scores(names, fake, train, test, n, seed, cache_dir, protocol, labels=None) -> dict:
    from .metrics.features import feature_network
    from .metrics.images import conditional_accuracy, image_metrics

    real = torch.cat([train.x, test.x])
    net = feature_network(train, test, seed=0, cache_dir=cache_dir)
    result = image_metrics(net, real, fake, n=n, seed=seed)
    protocol["feature_net"] = result["feature_net"]
    wanted = lambda k: "classes" in names if k in CLASS_KEYS else "features" in names  # noqa: E731
    keys = [k for k in result["model"] if wanted(k)]
    scores = {k: {"model": result["model"][k], "real": result["real_vs_real"][k]} for k in keys}
    if labels is not None and "classes" in names:
        # samples drawn for class c and classified as c; beside it, the classifier's test accuracy
        scores["conditional_accuracy"] = {"model": conditional_accuracy(net.probs(fake), labels),
                                          "real": net.accuracy(test)}
    return scores


CLASS_KEYS = ("inception_score", "classes_hit", "kl_to_uniform")


def _likelihood(model, test, iwae_k: int = IWAE_K, protocol: dict | None = None) -> dict:
    """The model's held-out likelihood figures; for a VAE the -ELBO and the IWAE NLL with
    ``iwae_k`` importance samples (Burda et al. 2016), in nats per image for binarised data
    and also in bits/dim for multi-level images. The unit and K go into the protocol."""
    from .runs import evaluation_progress

    options = {"iwae_k": iwae_k} if "iwae_k" in model.evaluate_options else {}
    with torch.no_grad(), evaluation_progress(model) as bar:
        figures = model.evaluate(test, **options, **bar)
    if protocol is not None and model.likelihood:
        protocol["likelihood"] = {**options, "n": len(test), "binarized": test.binarized, "n_bins": test.n_bins,
                                  "unit": model.likelihood_unit()}
    return {k: {"model": v, "real": None} for k, v in figures.items()}


def table(result: dict) -> str:
    """The scores as an aligned text table: metric, model, real vs real."""
    rows = [("metric", "model", "real vs real")]
    for key, s in result["scores"].items():
        rows.append((key, _fmt(s["model"]), "" if s["real"] is None else _fmt(s["real"])))
    width = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(f"{a:<{width[0]}}  {b:>{width[1]}}  {c:>{width[2]}}" for a, b, c in rows)


def _fmt(value) -> str:
    if value is None:
        return "n/a"  # e.g. kid_std when every KID subset is the whole sample
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def evaluate_run(run_dir, *, n=None, metrics=None, seed: int = 0, iwae_k: int = IWAE_K,
                 device: str | None = None) -> tuple[dict, Path]:
    """``genlab eval RUN_DIR``: score a finished run and write ``eval.json`` beside it."""
    from .io import write_json
    from .runs import load_run, run_data

    model, record = load_run(run_dir, device)
    if record is None:
        raise DataError(f"{run_dir} has no run.json: evaluate a run directory made by `genlab train`")
    train, test = run_data(record)
    result = evaluate(model, train, test, n=n, metrics=metrics, seed=seed, iwae_k=iwae_k)
    result["protocol"].update(run=str(run_dir), model=record["model"], steps=record.get("steps"),
                              dataset=record["data"])
    path = Path(run_dir) / "eval.json"
    write_json(path, result)
    return result, path
