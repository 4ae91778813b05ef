"""The registry of step kinds: what each step of a workflow can do.

A step kind validates its own `config` when a workflow is written and runs with
that config when a run reaches the step. Register a new kind with `@register`:

    @register
    class Shout(StepKind):
        name = "shout"
        config_fields = ("text",)

        def validate_config(self, config): ...
        def run(self, config, context): ...

`run` returns the step's output (any JSON value) or raises `StepError` with a
reason the user can read; the engine turns that into a failed run.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apps.core.json_values import json_type

from . import limits, templating


class StepError(Exception):
    """A step failed; the message is the reason shown to the user."""


class RunCancelled(Exception):
    """The run was cancelled while a step was in progress."""


@dataclass(frozen=True)
class StepContext:
    """What a running step sees.

    `steps` holds the outputs of the step's dependencies by name, in the order
    of its `depends_on`; `check_cancelled` raises RunCancelled once the run has
    been asked to stop, for steps that take a while.
    """

    input: dict
    steps: dict[str, Any]
    check_cancelled: Callable[[], None]

    def template_context(self) -> dict:
        return {"input": self.input, "steps": self.steps}

    def passthrough(self) -> Any:
        """The dependency's output (by name if there are several), or the run input if none."""
        if not self.steps:
            return self.input
        if len(self.steps) == 1:
            return next(iter(self.steps.values()))
        return dict(self.steps)


class StepKind:
    """A kind of step. Subclasses set `name`, `config_fields` and implement the methods."""

    name: str = ""
    description: str = ""
    config_fields: tuple[str, ...] = ()

    def validate_config(self, config: dict) -> list[str]:
        """Problems with the config, as messages; empty when it is valid."""
        unknown = sorted(set(config) - set(self.config_fields))
        if not unknown:
            return []
        allowed = ", ".join(self.config_fields) or "none"
        return [f"config has unknown fields: {', '.join(unknown)} (allowed: {allowed})."]

    def referenced_steps(self, config: dict) -> set[str]:
        """Names of the steps whose outputs the config reads; each must be a dependency."""
        return set()

    def run(self, config: dict, context: StepContext) -> Any:
        raise NotImplementedError


_REGISTRY: dict[str, StepKind] = {}


def register(kind_class: type[StepKind]) -> type[StepKind]:
    """Class decorator: make a step kind available to workflow definitions."""
    kind = kind_class()
    if not kind.name or kind.name in _REGISTRY:
        raise ValueError(f"Step kind {kind.name!r} is unnamed or registered twice")
    _REGISTRY[kind.name] = kind
    return kind_class


def get_step_kind(name: str) -> StepKind | None:
    return _REGISTRY.get(name)


def known_kinds() -> list[str]:
    return sorted(_REGISTRY)


def _is_number(value: Any) -> bool:
    # JSON true/false arrive as bool, which Python counts as int.
    return isinstance(value, int | float) and not isinstance(value, bool)


@register
class Transform(StepKind):
    """Build a JSON value from a template of the run input and the dependencies' outputs."""

    name = "transform"
    description = "Render config.template, a JSON value whose strings may hold {{ path }}."
    config_fields = ("template",)

    def validate_config(self, config: dict) -> list[str]:
        errors = super().validate_config(config)
        if "template" not in config:
            return [*errors, "config.template is required."]
        return errors + [
            f"config.template: {problem}"
            for problem in templating.check_template(config["template"])
        ]

    def referenced_steps(self, config: dict) -> set[str]:
        return templating.referenced_steps(config.get("template"))

    def run(self, config: dict, context: StepContext) -> Any:
        try:
            return templating.render(
                config["template"],
                context.template_context(),
                max_bytes=limits.MAX_STEP_OUTPUT_BYTES,
            )
        except templating.TemplateError as exc:
            raise StepError(str(exc)) from exc


@register
class Wait(StepKind):
    """Pause the run, then pass its dependencies' outputs (or the input) on unchanged."""

    name = "wait"
    description = "Sleep config.seconds (at most 300), then pass the dependencies' outputs on."
    config_fields = ("seconds",)

    def validate_config(self, config: dict) -> list[str]:
        errors = super().validate_config(config)
        seconds = config.get("seconds")
        if not _is_number(seconds) or not 0 < seconds <= limits.MAX_WAIT_SECONDS:
            errors.append(
                "config.seconds must be a number of seconds, more than 0 and at most "
                f"{limits.MAX_WAIT_SECONDS}."
            )
        return errors

    def run(self, config: dict, context: StepContext) -> Any:
        deadline = time.monotonic() + config["seconds"]
        while True:
            context.check_cancelled()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            time.sleep(min(limits.WAIT_SLICE_SECONDS, remaining))
        return context.passthrough()


@register
class Fail(StepKind):
    """Always fail with config.message: for trying out a workflow's error path."""

    name = "fail"
    description = "Fail the run with config.message."
    config_fields = ("message",)

    def validate_config(self, config: dict) -> list[str]:
        errors = super().validate_config(config)
        message = config.get("message")
        if (
            not isinstance(message, str)
            or not message.strip()
            or len(message) > limits.MAX_FAIL_MESSAGE_LENGTH
        ):
            errors.append(
                "config.message must be a non-empty text of at most "
                f"{limits.MAX_FAIL_MESSAGE_LENGTH} characters."
            )
        return errors

    def run(self, config: dict, context: StepContext) -> Any:
        raise StepError(config["message"])


@register
class Merge(StepKind):
    """Combine the dependencies' outputs (objects) into one object; later ones win."""

    name = "merge"
    description = "Merge the dependencies' object outputs, in depends_on order, into one object."
    config_fields = ()

    def run(self, config: dict, context: StepContext) -> Any:
        sources = context.steps or {"input": context.input}
        merged: dict = {}
        for source, output in sources.items():
            if not isinstance(output, dict):
                raise StepError(f"merge needs objects, but '{source}' gave {json_type(output)}.")
            merged.update(output)
        return merged
