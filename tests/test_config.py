"""Typed configs: strict names and types from dicts, and ``--set key=value`` parsing."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from genlab.config import describe, from_dict, parse_sets, to_dict
from genlab.errors import ConfigError
from genlab.models import MODELS
from genlab.models.gan import GANConfig
from genlab.runs import split_settings
from genlab.trainer import TrainConfig


@dataclass
class Example:
    count: int = 1
    rate: float = 0.5
    flag: bool = False
    mode: Literal["a", "b"] = "a"
    shape: tuple[int, ...] = (2,)
    label: str = "x"
    limit: int | None = None
    anything: Any = None


def refused(values: dict, *words, cls=Example) -> str:
    with pytest.raises(ConfigError) as info:
        from_dict(cls, values)
    message = str(info.value)
    assert "\n" not in message
    for word in words:
        assert word in message, message
    return message


# --- from_dict ----------------------------------------------------------------------------------------

def test_unknown_key_lists_the_valid_keys():
    message = refused({"cuont": 3}, "'cuont'")
    for f in dataclasses.fields(Example):
        assert f.name in message


def test_literal_choices_are_enforced():
    assert from_dict(Example, {"mode": "b"}).mode == "b"
    refused({"mode": "c"}, "mode", "'c'", "'a'", "'b'")
    refused({"mode": 1}, "mode")
    refused({"loss": "wgan"}, "wgan", "minimax", "nonsaturating", cls=GANConfig)


@pytest.mark.parametrize("value, expected", [(3, 3), (3.0, 3), (-2, -2)])
def test_int_accepts_integers_and_integral_floats(value, expected):
    out = from_dict(Example, {"count": value}).count
    assert out == expected and type(out) is int


@pytest.mark.parametrize("value", [3.5, "3", True, None, [3]])
def test_int_refuses_everything_else(value):
    refused({"count": value}, "count")


@pytest.mark.parametrize("value, expected", [(1, 1.0), (0.25, 0.25), (-3, -3.0)])
def test_float_accepts_numbers(value, expected):
    out = from_dict(Example, {"rate": value}).rate
    assert out == expected and type(out) is float


@pytest.mark.parametrize("value", ["0.5", True, None])
def test_float_refuses_text_and_booleans(value):
    refused({"rate": value}, "rate")


def test_bool_takes_only_booleans():
    assert from_dict(Example, {"flag": True}).flag is True
    for value in (1, 0, "true", "yes", None):
        refused({"flag": value}, "flag")


def test_tuple_from_lists_with_checked_items():
    assert from_dict(Example, {"shape": [1, 8, 8]}).shape == (1, 8, 8)
    assert from_dict(Example, {"shape": (3.0, 4)}).shape == (3, 4)
    for value in ("1,8,8", 3, [1.5], ["a"]):
        refused({"shape": value}, "shape")


def test_str_optional_and_any():
    assert from_dict(Example, {"label": "y"}).label == "y"
    refused({"label": 3}, "label")
    assert from_dict(Example, {"limit": None}).limit is None
    assert from_dict(Example, {"limit": 4}).limit == 4
    refused({"limit": "four"}, "limit")
    assert from_dict(Example, {"anything": {"a": [1]}}).anything == {"a": [1]}


def test_to_dict_is_json_and_round_trips():
    config = Example(count=2, shape=(1, 8, 8), mode="b", limit=3)
    values = to_dict(config)
    assert values["shape"] == [1, 8, 8]
    assert from_dict(Example, json.loads(json.dumps(values))) == config


def test_value_checks_run_after_coercion():
    with pytest.raises(ConfigError, match="steps"):
        from_dict(TrainConfig, {"steps": 0})
    with pytest.raises(ConfigError, match="hidden"):
        from_dict(GANConfig, {"hidden": -1})


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_config_round_trips_from_its_defaults(name):
    config = MODELS[name].Config()
    assert from_dict(type(config), json.loads(json.dumps(to_dict(config)))) == config
    names = [row[0] for row in describe(type(config))]
    assert sorted(names) == sorted(f.name for f in dataclasses.fields(config))  # every field, once
    own = list(vars(type(config)).get("__annotations__", {}))
    assert names[:len(own)] == own  # the model's own settings first, then those its config inherits


def test_describe_shows_choices_and_defaults():
    rows = {name: (tp, default) for name, tp, default in describe(GANConfig)}
    assert rows["loss"] == ("minimax | nonsaturating", "'nonsaturating'")
    assert rows["hidden"] == ("int", "256")


@given(steps=st.integers(1, 10**9), batch=st.integers(1, 4096), seed=st.integers(0, 2**63 - 1),
       progress=st.booleans(), device=st.sampled_from(["cpu", "auto", "cuda:1"]))
def test_train_config_round_trip_property(steps, batch, seed, progress, device):
    config = TrainConfig(steps=steps, batch_size=batch, seed=seed, progress=progress, device=device)
    assert from_dict(TrainConfig, json.loads(json.dumps(to_dict(config)))) == config


# --- parse_sets (the CLI's --set) ------------------------------------------------------------------------

def test_parse_sets_reads_numbers_text_booleans_and_lists():
    assert parse_sets(["lr=1e-3", "loss=minimax", "hidden=16", "beta1=0.5", "progress=false",
                       "data_shape=[1, 8, 8]", "note=a=b"]) == {
        "lr": 0.001, "loss": "minimax", "hidden": 16, "beta1": 0.5, "progress": False,
        "data_shape": [1, 8, 8], "note": "a=b"}
    assert type(parse_sets(["lr=1e-3"])["lr"]) is float


@pytest.mark.parametrize("text, expected", [("1e-3", 0.001), ("1e30", 1e30), ("1E+5", 1e5), ("-2.5e-2", -0.025),
                                            (".5", 0.5), ("7", 7), ("-7", -7), ("1.0", 1.0)])
def test_parse_sets_reads_every_decimal_number(text, expected):
    # PyYAML follows YAML 1.1, where 1e-3 and 1e30 (no dot, or no exponent sign) are strings.
    value = parse_sets([f"x={text}"])["x"]
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize("item", ["hidden", "=3", "", " =1"])
def test_parse_sets_needs_key_equals_value(item):
    with pytest.raises(ConfigError, match="key=value"):
        parse_sets([item])


@pytest.mark.parametrize("word", ["yes", "no", "on", "off", "Yes", "OFF"])
def test_yaml_11_booleans_stay_text_and_a_bool_setting_refuses_them(word):
    assert parse_sets([f"progress={word}"]) == {"progress": word}
    with pytest.raises(ConfigError, match="progress"):
        from_dict(TrainConfig, parse_sets([f"progress={word}"]))


def test_parse_sets_then_from_dict_is_what_the_cli_does():
    values = parse_sets(["lr=1e-3", "loss=minimax", "hidden=16", "data_shape=[3]"])
    config = from_dict(GANConfig, values)
    assert config.lr == 0.001 and config.loss == "minimax" and config.hidden == 16 and config.data_shape == (3,)
    with pytest.raises(ConfigError, match="hidden"):
        from_dict(GANConfig, parse_sets(["hidden=abc"]))


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_any_float_survives_set_parsing(x):
    assert parse_sets([f"lr={x!r}"])["lr"] == x


@given(st.integers())
def test_any_int_survives_set_parsing(i):
    assert parse_sets([f"steps={i}"])["steps"] == i


def test_set_keys_are_routed_to_model_or_trainer():
    model, train = split_settings(MODELS["gan"], {"hidden": 16, "steps": 5, "lr": 0.1, "seed": 2})
    assert model == {"hidden": 16, "lr": 0.1} and train == {"steps": 5, "seed": 2}
    with pytest.raises(ConfigError) as info:
        split_settings(MODELS["gan"], {"hiden": 16})
    assert "hiden" in str(info.value) and "hidden" in str(info.value) and "batch_size" in str(info.value)
    with pytest.raises(ConfigError, match="data_shape"):
        split_settings(MODELS["gan"], {"data_shape": [3]})
