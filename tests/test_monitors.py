"""Collapse monitors: a warning when mode or class coverage collapses during training."""

import json

import torch

import genlab
from genlab.data import toys
from genlab.runs import frechet_monitor, mode_monitor
from genlab.trainer import Trainer, TrainConfig


class Sampler:
    """Stands in for a generator whose samples we choose: all modes, then only one."""

    device = torch.device("cpu")

    def __init__(self, batches):
        self.batches = iter(batches)

    def sample(self, n, generator=None):
        return next(self.batches)[:n]


def test_mode_monitor_warns_when_coverage_halves():
    data = genlab.load_dataset("ring8")
    good = toys.sample("ring8", 2500, torch.Generator().manual_seed(0))
    collapsed = data.modes[2] + data.sigma * torch.randn(2500, 2, generator=torch.Generator().manual_seed(0))
    monitor = mode_monitor(data)
    model = Sampler([good, collapsed])
    first, second = monitor(model), monitor(model)
    assert first["modes"] == 8 and "warning" not in first
    assert second["modes"] == 1 and "collapsed" in second["warning"] and "best so far 8" in second["warning"]


def test_mode_monitor_does_not_call_a_generator_that_never_spread_collapsed():
    """2 modes, then 1: the samples never reached half of ring8's 8 modes, so no collapse."""
    data = genlab.load_dataset("ring8")
    noise = lambda seed: data.sigma * torch.randn(1250, 2, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    two = torch.cat([data.modes[0] + noise(0), data.modes[4] + noise(1)])
    one = data.modes[4] + noise(2)
    monitor = mode_monitor(data)
    first, second = (monitor(Sampler([batch])) for batch in (two, one))
    assert first["modes"] == 2 and second["modes"] == 1
    assert "warning" not in first and "warning" not in second


def test_class_monitor_warns_when_coverage_falls_below_half_not_before_it_was_reached():
    train, test = genlab.load_dataset("digits").split(0.2, seed=0)
    monitor = frechet_monitor(train, test)  # the feature network is cached for the session
    ones = train.x[train.y == 1]
    untrained = torch.full((256, 1, 8, 8), 0.5)  # a grey blur: not yet any class
    calls = [monitor(Sampler([batch])) for batch in (untrained, ones.repeat(5, 1, 1, 1), train.x[:256], ones)]
    assert "warning" not in calls[0] and "warning" not in calls[1]  # never above half: not a collapse
    assert calls[2]["classes_hit"] == 10 and "warning" not in calls[2]
    assert calls[3]["classes_hit"] < 5 and "best so far 10" in calls[3]["warning"]
    assert calls[2]["fd_256"] < calls[3]["fd_256"]


def test_trainer_prints_and_logs_monitor_warnings(tmp_path, capsys):
    data = genlab.load_dataset("ring8", n=500)
    model = genlab.create("gan", data=data, hidden=16, layers=1)
    calls = iter([{"modes": 8}, {"modes": 2, "warning": "mode coverage collapsed: 2 of 8 modes (best so far 8)"}])
    config = TrainConfig(steps=20, batch_size=32, log_every=10, checkpoint_every=10, sample_every=20, progress=False)
    Trainer(model, data, config, tmp_path, monitors=(lambda m: next(calls),)).run()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert "warning" not in lines[0] and "collapsed" in lines[1]["warning"]
    printed = capsys.readouterr()
    assert "step 20: warning: mode coverage collapsed" in printed.out + printed.err
