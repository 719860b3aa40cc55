"""Oracles for the mode metrics (docs/EVALUATION.md, VEEGAN / PacGAN protocol)."""

import math

import pytest
import torch

from genlab.data import load_dataset, toys
from genlab.metrics import mode_metrics


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_true_mixture_covers_every_mode_with_98_9_percent_hq(name, k):
    data = load_dataset(name)
    x = toys.sample(name, 2500, torch.Generator().manual_seed(0))
    m = mode_metrics(x, data.modes, data.sigma)
    assert m["modes"] == k
    # within 3 sigma of the centre in 2-D: 1 - exp(-9/2) = 98.89 %; binomial s.e. at N = 2,500 is 0.2 %
    assert abs(m["hq_percent"] - 100 * (1 - math.exp(-4.5))) < 0.8
    assert m["reverse_kl"] < 0.02


@pytest.mark.parametrize("name,k", [("ring8", 8), ("grid25", 25)])
def test_one_mode_sampler_has_reverse_kl_log_k(name, k):
    data = load_dataset(name)
    x = data.modes[3] + data.sigma * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    m = mode_metrics(x, data.modes, data.sigma)
    assert m["modes"] == 1
    assert m["reverse_kl"] == pytest.approx(math.log(k), abs=1e-9)  # log 8 = 2.079, log 25 = 3.219


def test_samples_between_modes_are_not_high_quality():
    data = load_dataset("ring8")
    x = torch.zeros(100, 2)  # the centre of the ring is 1 away from every mode
    m = mode_metrics(x, data.modes, data.sigma)
    assert m["modes"] == 0 and m["hq_percent"] == 0.0
