"""The model registry: a plain dict from name to class; a new model adds one line here."""

from __future__ import annotations

from ..errors import CheckpointError, ConfigError, did_you_mean
from .ae import AE, DAE
from .base import Model
from .cgan import CGAN
from .cvae import CVAE
from .cyclegan import CycleGAN
from .dann import DANN
from .dcgan import DCGAN
from .ddpm import DDPM
from .gan import GAN
from .gmm import GMM
from .ngram import NGram
from .pixelcnn import PixelCNN
from .pixelrnn import PixelRNN
from .stylegan import StyleGAN
from .vae import VAE
from .vaegan import VAEGAN
from .wgan import WGAN, WGANGP

MODELS: dict[str, type[Model]] = {cls.name: cls for cls in (GMM, GAN, VAE, DCGAN, CGAN, WGAN, WGANGP, AE, DAE, CVAE, VAEGAN, NGram,
                                                   PixelCNN, PixelRNN, DDPM, DANN, CycleGAN, StyleGAN)}


def get(name: str) -> type[Model]:
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r}{did_you_mean(name, MODELS)}; valid models: "
                          f"{', '.join(sorted(MODELS))}")
    return MODELS[name]


def build(name: str, values: dict, networks: dict | None = None) -> Model:
    """Build a model from a plain dict of config values, checking every key and type (keys
    an older genlab wrote and this one retired are dropped); ``networks`` holds the import
    paths and arguments of user-supplied networks, as ``config.json`` records them."""
    from ..config import from_dict
    from .networks import check_networks, rebuild_networks

    cls = get(name)
    values = {k: v for k, v in values.items() if k not in cls.retired_config}
    model = cls(from_dict(cls.Config, values, what=f"{name} config"), **rebuild_networks(cls, networks))
    check_networks(model)
    return model


def load_model(directory, device: str = "auto") -> Model:
    """Rebuild a model saved by ``model.save(directory)``: its class from the registry, its
    config and any user networks from ``config.json``, its weights from the safetensors file,
    on ``device`` (auto: a CUDA GPU when there is one), whatever device it was trained on."""
    from ..distributed import resolve_device
    from ..io import load_state
    from .saving import CONFIG, WEIGHTS, read_saved

    device = resolve_device(device or "auto")
    meta, state = read_saved(directory)
    try:
        model = build(meta["model"], meta["config"], networks=meta.get("networks"))
    except ConfigError as err:
        raise CheckpointError(f"{directory}/{CONFIG}: {err}") from None
    load_state(model, state, f"{directory}/{WEIGHTS}")
    return model.to(device)
