"""The model registry: a plain dict from name to class."""

from __future__ import annotations

from ..errors import ConfigError
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
        raise ConfigError(f"unknown model {name!r}; valid models: {', '.join(sorted(MODELS))}")
    return MODELS[name]


def build(name: str, values: dict) -> Model:
    """Build a model from a plain dict of config values, checking every key and type."""
    from ..config import from_dict

    cls = get(name)
    return cls(from_dict(cls.Config, values, what=f"{name} config"))
