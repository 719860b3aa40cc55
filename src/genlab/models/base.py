"""The protocol every genlab model follows, declared in one place.

A model is an ``nn.Module`` built from one typed dataclass config (``model.config``) that
holds every setting, including the shape of the data it was built for, so that
``config.json`` alone is enough to rebuild it. What a model can do is *declared* here as
class attributes, and the trainer, the run directories, the CLI and ``genlab eval`` read
the declarations; they never probe a model for optional methods.

Training comes in two forms:

- **phases** (``fitted = False``): the model lists its optimisers and its
  :class:`Phase` es — one optimisation step each, such as "discriminator" then "generator"
  for a GAN — which the one trainer in ``genlab.trainer`` runs. Each phase's loss is called
  as ``loss(x, y, state)`` with the :class:`TrainState` (step, total steps, progress), and
  the model may declare learning rates that follow the state (:meth:`Model.learning_rates`);
  so schedules follow ``--steps`` and resume exactly, and no model counts steps itself.
- **closed form or EM** (``fitted = True``): ``fit`` counts or iterates to convergence.

A new model subclasses :class:`Model` (or a family base: ``adversarial.py``,
``autoencoding.py``, ``autoregressive.py``), declares ``name``, ``Config``, the kinds of
data it takes and its capabilities, and is added to the registry in ``models/__init__.py``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

import torch
from torch import nn

from ..config import Settings, check, coerce, field_types
from ..errors import ConfigError, DataError
from ..trainer import TrainState
from .networks import describe
from .saving import save_model

DATA_KINDS = ("points", "image", "text")  # what Model.data_kinds may name


LossFn = Callable[[torch.Tensor, "torch.Tensor | None", "TrainState | None"], dict[str, torch.Tensor]]


@dataclass
class Phase:
    """One optimisation step of an iteration: ``loss(x, y, state)["loss"]`` is minimised by
    ``optimizer``; every other entry of the returned dict is logged under its key."""

    name: str
    optimizer: str
    loss: LossFn
    repeats: int = 1  # e.g. n_critic discriminator steps per generator step
    after: Callable[[], None] | None = None  # run after each optimizer.step(): weight clipping, EMA


@dataclass
class ConditionalSettings(Settings):
    """Class-conditional sampling, which the user switches on; the classes come from the data
    only then, and an unconditional model refuses a class count rather than dropping it."""

    num_classes: int = 0  # classes of the labels (set from the data when conditional)
    conditional: bool = False  # condition on the class label: sample(n, labels=...)

    def __post_init__(self):
        super().__post_init__()
        name = type(self).__name__.removesuffix("Config").lower()
        check(self.num_classes >= 0, f"num_classes must be non-negative, got {self.num_classes}")
        check(not self.conditional or self.num_classes > 0,
              f"conditional {name} needs labelled data (num_classes > 0)")
        check(self.conditional or self.num_classes == 0,
              f"num_classes={self.num_classes} is for a conditional {name}: set conditional=true, or leave it out")


class Model(nn.Module):
    """Base class: stores the config and declares what the model can do; subclasses build
    networks and define the maths."""

    name: ClassVar[str]
    Config: ClassVar[type]

    # --- declared capabilities ------------------------------------------------------------
    data_kinds: ClassVar[tuple[str, ...]] = ("points", "image")  # the kinds of data it takes
    two_domains: ClassVar[bool] = False   # trained on data of two domains (data/domains.py)
    fitted: ClassVar[bool] = False        # fitted in closed form or by EM (``fit``), not by phases
    likelihood: ClassVar[bool] = False    # ``evaluate`` reports a held-out likelihood or a bound on it
    evaluate_options: ClassVar[tuple[str, ...]] = ()  # keyword options ``evaluate`` takes (e.g. iwae_k)
    Sampling: ClassVar[type | None] = None  # dataclass of the settings ``sample(**settings)`` takes
    interpolates: ClassVar[bool] = False  # ``interpolate(x_a, x_b, steps)`` between latent codes
    # samples are a deterministic function of Gaussian noise: ``noise(n, generator)`` draws it,
    # ``from_noise(z, labels=..., **settings)`` maps it to data (latent walks between two seeds)
    walks: ClassVar[bool] = False
    # ``mixing_grid(rows, cols, crossover_layer, generator, truncation)``: styles of one code
    # with those of another (StyleGAN's style mixing)
    mixes: ClassVar[bool] = False
    translates: ClassVar[bool] = False    # ``translate`` / ``cycle`` / ``translation_grid`` (two domains)
    classifies: ClassVar[bool] = False    # ``predict`` / ``accuracy`` (domain adaptation)
    networks: ClassVar[tuple[str, ...]] = ()  # networks a user may supply: create(name, generator=...)
    # the trainer's ``precision`` settings it trains in: autocast runs its networks in bf16 or
    # fp16, and its losses and likelihoods are summed in fp32 (networks' outputs are cast back)
    precisions: ClassVar[tuple[str, ...]] = ("fp32", "bf16", "fp16")
    # what an older genlab saved and this one derives otherwise (step counters now in the
    # trainer's state): state-dict keys dropped and config keys ignored when loading
    retired_state: ClassVar[tuple[str, ...]] = ()
    retired_config: ClassVar[tuple[str, ...]] = ()
    learned_config: ClassVar[tuple[str, ...]] = ()  # config fields fit() fills in: not settings
    # per built-in dataset, the settings (model, training and data) its benchmark trained with,
    # which ``genlab train MODEL --data NAME`` starts from; --set and --steps still override
    presets: ClassVar[dict[str, dict[str, Any]]] = {}
    n_iter_: int = 0  # iterations of the last ``fit`` (fitted models)

    def __init__(self, config, **networks: nn.Module | None):
        super().__init__()
        self.config = config
        given = {role: net for role, net in networks.items() if net is not None}
        unknown = sorted(set(given) - set(self.networks))
        if unknown:
            takes = f"it takes {', '.join(self.networks)}" if self.networks else "it takes none"
            raise ConfigError(f"{self.name} has no network {unknown[0]!r} to replace; {takes}")
        for role, net in given.items():
            if not isinstance(net, nn.Module):
                raise ConfigError(f"{role} must be a torch.nn.Module, got {type(net).__name__}")
        self.user_networks = {role: describe(net, role) for role, net in given.items()}
        self._given = given

    def network_for(self, role: str, build: Callable[[], nn.Module]) -> nn.Module:
        """The user's network for ``role`` if one was given, else ``build()``'s."""
        return self._given[role] if role in self._given else build()

    def network_examples(self) -> dict[str, tuple[tuple, tuple[int, ...]]]:
        """For each replaceable network: (example inputs, the output shape the model needs)."""
        return {}

    # --- the verbs shared by every family -------------------------------------------------

    def sample(self, n: int, *, labels: torch.Tensor | None = None,
               generator: torch.Generator | None = None, **settings):
        """``n`` samples in data space (points as-is, images in [0, 1], text as strings); a
        walking model's are ``from_noise(noise(n, generator))``."""
        if not self.walks:
            raise NotImplementedError
        return self.from_noise(self.noise(n, generator), labels=labels, **settings)

    def noise(self, n: int, generator: torch.Generator | None = None) -> torch.Tensor:
        """Walking models: the N(0, I) noise ``n`` samples start from (by default the
        ``latent_dim`` codes of the config), drawn from ``generator`` as ``sample`` draws it."""
        return standard_normal((n, self.config.latent_dim), generator, self.device)

    def from_noise(self, z: torch.Tensor, *, labels: torch.Tensor | None = None, **settings) -> torch.Tensor:
        """Walking models: the samples of noise ``z`` (from :meth:`noise`), deterministically,
        so that a path between two noises is a path between two samples."""
        raise NotImplementedError(f"{self.name} does not map noise to samples (walks = False)")

    def save(self, directory) -> None:
        """``model.safetensors`` and ``config.json`` in ``directory`` (``saving.py``)."""
        save_model(self, directory)

    @property
    def device(self) -> torch.device:
        for tensor in self.parameters():
            return tensor.device
        for tensor in self.buffers():
            return tensor.device
        return torch.device("cpu")

    @property
    def conditional(self) -> bool:
        """Whether samples are drawn for class labels (``sample(n, labels=...)``): switched by
        a :class:`ConditionalSettings` config; cgan and cvae always are."""
        return isinstance(self.config, ConditionalSettings) and self.config.conditional

    # --- training: phases, or fit ---------------------------------------------------------

    def optimizers(self) -> dict[str, torch.optim.Optimizer]:
        raise NotImplementedError(f"{self.name} is not trained by SGD")

    def phases(self) -> list[Phase]:
        raise NotImplementedError(f"{self.name} is not trained by SGD")

    def learning_rates(self, state: TrainState) -> dict[str, float]:
        """The learning rate of each named optimiser at ``state``, set by the trainer before
        every step; optimisers left out keep their own (constant) rate."""
        return {}

    def fit(self, *args, **kwargs):
        """Fitted models: ``fit(x, n_bins=..., seed=...)`` for tensors, ``fit(texts)`` for text."""
        raise NotImplementedError(f"{self.name} is trained by phases, not fitted")

    def check_data(self, data) -> None:
        """Problems the model finds in training data, raised before any file is written."""

    def upgrade_state(self, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """A state dict written by an older genlab, in this version's terms (weights files and
        checkpoints alike), so that old runs still load and resume: ``retired_state`` keys go."""
        return {k: v for k, v in state.items() if k not in self.retired_state}

    def fit_log(self) -> list[dict]:
        """A fitted model's last fit as metrics.jsonl lines (``{"step": i, ...}``, e.g. EM's
        log-likelihood per iteration), drawn in the run's curves; none by default."""
        return []

    # --- evaluation and pictures -------------------------------------------------------------

    def evaluate(self, data, **options) -> dict[str, float]:
        """Cheap held-out quality figures (e.g. log-likelihood); empty where none is exact."""
        return {}

    def likelihood_unit(self) -> str | None:
        """How ``evaluate``'s likelihood figures are reported (bits/dim, nats per image...)."""
        return None

    def pictures(self, generator: torch.Generator) -> dict[str, tuple[torch.Tensor, int]]:
        """Extra pictures of a finished run: file name -> (images, images per row)."""
        return {}

    # --- sampling settings and labels ------------------------------------------------------

    def sampling(self, settings: dict[str, Any]):
        """``settings`` checked against ``Sampling``; fields the config also has default to the
        config's values. One line names an unknown key or a wrong value."""
        if self.Sampling is None:
            if settings:
                raise ConfigError(f"{self.name} takes no sampling settings; got {', '.join(sorted(settings))}")
            return None
        types = field_types(self.Sampling)
        unknown = sorted(set(settings) - set(types))
        if unknown:
            raise ConfigError(f"unknown sampling setting {unknown[0]!r} for {self.name}; "
                              f"valid: {', '.join(types)}")
        own = {f.name for f in dataclasses.fields(self.config)}
        values = {k: getattr(self.config, k) for k in types if k in own}
        values.update({k: coerce(v, types[k], k) for k, v in settings.items()})
        chosen = self.Sampling(**values)
        self.check_sampling(chosen)
        return chosen

    def check_sampling(self, sampling) -> None:
        """Checks of sampling settings that need the model (e.g. steps within its timesteps)."""

    def labels_for(self, n: int, labels=None) -> torch.Tensor:
        """``labels`` checked and as a (n,) long tensor; None -> 0..K-1 repeated (balanced)."""
        k = self.config.num_classes
        if labels is None:
            return torch.arange(n, device=self.device) % k
        labels = torch.as_tensor(labels)
        if labels.dim() == 0:
            labels = labels.expand(n)
        check(labels.dim() == 1 and len(labels) == n,
              f"labels must be {n} class indices, got shape {tuple(labels.shape)}")
        integral = not labels.is_floating_point() or bool((labels == labels.round()).all())
        check(integral and not labels.is_complex(), f"labels must be whole numbers, got dtype {labels.dtype}")
        check(n == 0 or (labels.min() >= 0 and labels.max() < k),
              f"labels must lie in 0..{k - 1}, got values {labels.min().item()}..{labels.max().item()}")
        return labels.long().to(self.device)

    def condition(self, y: torch.Tensor | None, n: int) -> torch.Tensor | None:
        """The labels a conditional model trains and scores on (checked); None when it is not."""
        if not self.conditional:
            return None
        if y is None:
            raise DataError(f"conditional {self.name} needs class labels y; train and evaluate it on labelled data")
        return self.labels_for(n, y)

    def sample_labels(self, n: int, labels=None) -> torch.Tensor | None:
        """The labels to sample ``n`` examples for: checked, balanced by default, when the model
        is conditional; None otherwise, where labels given are refused."""
        if self.conditional:
            return self.labels_for(n, labels)
        self._check_labels(n, labels)
        return None

    def _check_labels(self, n: int, labels: torch.Tensor | None) -> None:
        if labels is not None:
            raise ConfigError(f"{self.name} is not class-conditional; sample without labels")


def standard_normal(shape, generator: torch.Generator | None, device) -> torch.Tensor:
    """N(0, I) noise drawn from ``generator`` (or the global RNG) on ``device``."""
    if generator is not None and generator.device != torch.device(device):
        return torch.randn(shape, generator=generator).to(device)
    return torch.randn(shape, generator=generator, device=device)
