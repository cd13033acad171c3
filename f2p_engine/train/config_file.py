"""`f2p train --config CONFIG.json` -> `EnsembleConfig`, validated like a model manifest before any work.

The file holds overrides of the defaults: top-level keys of `EnsembleConfig`, with `aggregate` and
`local` taking `TrainConfig` keys and `identity` taking `IdentityConfig` keys. Every value is checked
for its JSON type, its range and, for names (nets, regions, losses), against the known ones; every
member's net with a pooling grid is then built once (no weights) so a grid that does not fit its input
size is refused now, not after other members trained for an hour. Any problem is one InputError naming the
file, the key and what is wrong.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from f2p_engine.errors import InputError
from f2p_engine.files import check_input_file
from f2p_engine.headmodel import schema
from f2p_engine.train.loop import TrainConfig
from f2p_engine.train.run import EnsembleConfig

#: A config is a few hundred bytes; more is not one.
MAX_CONFIG_BYTES = 1 << 20

#: Checks one value: returns the value to use, or raises ValueError saying what it must be.
Rule = Callable[[Any], Any]


def _integer(low: int, high: int) -> Rule:
    def check(value: Any) -> int:
        if type(value) is not int or not low <= value <= high:
            raise ValueError(f"must be an integer from {low} to {high}")
        return value

    return check


def _number(low: float, high: float, *, above_low: bool = False, below_high: bool = False) -> Rule:
    opening, closing = "(" if above_low else "[", ")" if below_high else "]"

    def check(value: Any) -> float:
        if type(value) not in (int, float) or (type(value) is float and not math.isfinite(value)):
            raise ValueError(f"must be a number in {opening}{low:g}, {high:g}{closing}")
        if value < low or value > high or (above_low and value == low) or (below_high and value == high):
            raise ValueError(f"must be a number in {opening}{low:g}, {high:g}{closing}")
        return float(value)

    return check


def _boolean(value: Any) -> bool:
    if type(value) is not bool:
        raise ValueError("must be true or false")
    return value


def _one_of(names: Callable[[], tuple[str, ...]]) -> Rule:
    def check(value: Any) -> str:
        known = names()
        if not isinstance(value, str) or value not in known:
            raise ValueError(f"must be one of {', '.join(known)}")
        return value

    return check


def _net_names() -> tuple[str, ...]:
    from f2p_engine.nets.registry import list_nets

    return list_nets()


def _regions(value: Any) -> tuple[str, ...]:
    known = schema.LOCAL_REGIONS
    if (not isinstance(value, list) or not all(isinstance(v, str) and v in known for v in value)
            or len(set(value)) != len(value)):
        raise ValueError(f"must be a list of different regions among {', '.join(known)}")
    return tuple(value)


def _alphas(value: Any) -> tuple[float, ...]:
    positive = _number(0, 1e12, above_low=True)
    if not isinstance(value, list) or not 1 <= len(value) <= 100:
        raise ValueError("must be a list of 1 to 100 positive numbers")
    try:
        return tuple(positive(v) for v in value)
    except ValueError:
        raise ValueError("must be a list of 1 to 100 positive numbers") from None


EPOCHS = _integer(0, 100_000)
RATE = _number(0, 10, above_low=True)
FRACTION = _number(0, 1, below_high=True)
SEED = _integer(0, 2**32 - 1)

TRAIN_RULES: Mapping[str, Rule] = {
    "net": _one_of(_net_names), "crop": _one_of(lambda: ("face", *schema.LOCAL_REGIONS)),
    "input_size": _integer(16, 1024), "pool": _integer(1, 64), "hidden": _integer(1, 65_536), "dropout": FRACTION,
    "pretrained": _boolean, "feature_epochs": EPOCHS, "finetune_epochs": EPOCHS, "batch_size": _integer(1, 65_536),
    "feature_lr": RATE, "finetune_lr": RATE, "weight_decay": _number(0, 10),
    "slider_loss": _one_of(lambda: ("l1", "l2")), "adaptive_weights": _boolean, "discrete_weight": _number(0, 1000),
    "seed": SEED}
IDENTITY_RULES: Mapping[str, Rule] = {
    "kind": _one_of(lambda: ("ridge", "mlp")), "alphas": _alphas, "hidden": _integer(1, 65_536), "dropout": FRACTION,
    "weight_decay": _number(0, 10), "lr": RATE, "max_epochs": _integer(1, 100_000), "patience": _integer(1, 100_000),
    "batch_size": _integer(1, 65_536), "validation_fraction": _number(0, 1, above_low=True, below_high=True),
    "seed": SEED}
ENSEMBLE_RULES: Mapping[str, Rule] = {
    "regions": _regions, "holdout_fraction": _number(0, 0.9, above_low=True), "split_seed": SEED}


def _checked(data: Any, rules: Mapping[str, Rule], where: str) -> dict[str, Any]:
    """`data` (a JSON object of overrides) with every value checked by its rule; ValueError naming
    the key for an unknown key or a bad value."""
    if not isinstance(data, dict):
        raise ValueError(f"{where or 'the file'} must be a JSON object of settings")
    values = {}
    for key, value in data.items():
        name = f"{where}.{key}" if where else key
        if key not in rules:
            raise ValueError(f"{name}: unknown setting (known: {', '.join(sorted(rules))})")
        try:
            values[key] = rules[key](value)
        except ValueError as exc:
            raise ValueError(f"{name}: {exc}, got {json.dumps(value)[:60]}") from None
    return values


def ensemble_config(data: Any) -> EnsembleConfig:
    """The default `EnsembleConfig` with the overrides in `data` (a parsed JSON document); ValueError
    naming the setting when one is unknown, of the wrong type, out of range or not buildable."""
    members = {"aggregate": TRAIN_RULES, "local": TRAIN_RULES, "identity": IDENTITY_RULES}
    if isinstance(data, dict):
        unknown = sorted(set(data) - set(members) - set(ENSEMBLE_RULES))
        if unknown:
            known = ", ".join(sorted({*members, *ENSEMBLE_RULES}))
            raise ValueError(f"{unknown[0]}: unknown setting (known: {known})")
        top = _checked({k: v for k, v in data.items() if k in ENSEMBLE_RULES}, ENSEMBLE_RULES, "")
    else:
        top = _checked(data, ENSEMBLE_RULES, "")
    default = EnsembleConfig()
    parts: dict[str, Any] = {}
    for name in members:
        overrides = _checked(data.get(name, {}), members[name], name)
        try:
            parts[name] = replace(getattr(default, name), **overrides)
        except ValueError as exc:  # a combination the config refuses (feature epochs without a backbone)
            raise ValueError(f"{name}: {exc}") from None
    config = EnsembleConfig(**parts, **top)
    for member, train in config.members().items():
        if train.total_epochs < 1:
            raise ValueError(f"{_part(member)}: feature_epochs + finetune_epochs must be at least 1")
        _check_net(train, _part(member))
    return config


def _part(member: str) -> str:
    return member if member == "aggregate" else f"local ({member})"


def _check_net(train: TrainConfig, where: str) -> None:
    """Build the member's net once, without weights: its pooling grid must divide its feature map
    (a grid of 1, global average pooling, always does: no net to build)."""
    from f2p_engine.nets.registry import create_net

    if train.pool == 1:
        return
    try:
        create_net(train.net, pretrained=False, **train.net_kwargs())
    except (ValueError, RuntimeError) as exc:
        raise ValueError(f"{where}: {str(exc).splitlines()[0]}") from None


def read_ensemble_config(path: str | os.PathLike[str] | None) -> EnsembleConfig:
    """The ensemble config of `f2p train --config PATH` (None: the defaults); InputError naming the
    file and the setting for anything wrong, before any work."""
    if path is None:
        return EnsembleConfig()
    check_input_file(path, MAX_CONFIG_BYTES)
    try:
        data = json.loads(Path(path).read_bytes().decode("utf-8-sig"))  # a byte order mark is fine
    except OSError as exc:
        raise InputError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text, not a config") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON ({exc.msg} at line {exc.lineno})") from None
    except (ValueError, RecursionError):
        raise InputError(f"{path}: malformed JSON (nested too deeply, or a number too long)") from None
    try:
        return ensemble_config(data)
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from None
