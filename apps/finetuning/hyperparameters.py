"""The hyperparameters a fine-tuning job accepts: names, types, bounds and defaults."""

import math
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Hyperparameter:
    """One tunable setting; `minimum` is exclusive when `exclusive_minimum`."""

    name: str
    is_integer: bool
    minimum: float
    maximum: float
    default: float
    description: str
    exclusive_minimum: bool = False

    @property
    def rule(self) -> str:
        if self.is_integer:
            return f"{self.name} must be an integer from {self.minimum} to {self.maximum}."
        lower = "greater than" if self.exclusive_minimum else "at least"
        return f"{self.name} must be a number {lower} {self.minimum} and at most {self.maximum}."

    def accepts(self, value: Any) -> bool:
        # JSON true/false arrive as bool, a subclass of int: never a count or a rate.
        if isinstance(value, bool):
            return False
        if self.is_integer and not isinstance(value, int):
            return False
        if not isinstance(value, int | float) or not math.isfinite(value):
            return False
        above = value > self.minimum if self.exclusive_minimum else value >= self.minimum
        return above and value <= self.maximum


HYPERPARAMETERS: dict[str, Hyperparameter] = {
    spec.name: spec
    for spec in (
        Hyperparameter(
            name="n_epochs",
            is_integer=True,
            minimum=1,
            maximum=50,
            default=3,
            description="Passes over the whole training file.",
        ),
        Hyperparameter(
            name="learning_rate_multiplier",
            is_integer=False,
            minimum=0,
            maximum=10,
            default=1.0,
            exclusive_minimum=True,
            description="Scales the provider's base learning rate.",
        ),
        Hyperparameter(
            name="batch_size",
            is_integer=True,
            minimum=1,
            maximum=256,
            default=1,
            description="Examples per training step.",
        ),
    )
}

EXAMPLE = '{"n_epochs": 3}'


def clean_hyperparameters(value: Any) -> dict:
    """The hyperparameters as given, checked; ValidationError naming every bad key."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationError({"hyperparameters": [f"Must be a JSON object, such as {EXAMPLE}."]})
    errors = []
    for key in value:
        if key not in HYPERPARAMETERS:
            allowed = ", ".join(sorted(HYPERPARAMETERS))
            errors.append(f'Unknown hyperparameter "{key}". Allowed: {allowed}.')
    for key, spec in HYPERPARAMETERS.items():
        if key in value and not spec.accepts(value[key]):
            errors.append(spec.rule)
    if errors:
        raise ValidationError({"hyperparameters": errors})
    return dict(value)


def effective_hyperparameters(given: dict) -> dict:
    """Every hyperparameter, the given ones over the defaults."""
    return {key: given.get(key, spec.default) for key, spec in HYPERPARAMETERS.items()}
