"""Pick a strategy by config name: a built-in name or ``package.module:ClassName``."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

from bot.strategy.base import Strategy
from bot.strategy.ema_cross import EmaCross

BUILT_IN: Mapping[str, Callable[..., Strategy]] = {"ema_cross": EmaCross}


def load_strategy(name_or_dotted_path: str, params: Mapping[str, Any]) -> Strategy:
    """Instantiate the strategy with ``params`` as keyword arguments.

    Raises ValueError with a readable message for an unknown name, a missing module
    or class, bad parameters, or an object without ``evaluate``.
    """
    factory = BUILT_IN.get(name_or_dotted_path) or _import_factory(name_or_dotted_path)
    try:
        strategy = factory(**dict(params))
    except TypeError as exc:
        raise ValueError(f"strategy {name_or_dotted_path!r}: bad parameters: {exc}") from exc
    if not callable(getattr(strategy, "evaluate", None)):
        raise ValueError(f"strategy {name_or_dotted_path!r} has no evaluate() method")
    return strategy


def _import_factory(path: str) -> Callable[..., Strategy]:
    module_name, sep, class_name = path.partition(":")
    if not sep or not module_name or not class_name:
        raise ValueError(
            f"unknown strategy {path!r}: use one of {sorted(BUILT_IN)} "
            "or 'package.module:ClassName'"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"strategy module {module_name!r} cannot be imported: {exc}") from exc
    try:
        factory: Callable[..., Strategy] = getattr(module, class_name)  # called with the params
    except AttributeError as exc:
        raise ValueError(f"strategy module {module_name!r} has no {class_name!r}") from exc
    return factory
