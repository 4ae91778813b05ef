"""A workflow's definition: validated on write, put in execution order when a run starts.

    {"steps": [{"name": "fetch", "kind": "transform", "config": {...}, "depends_on": []},
               {"name": "greet", "kind": "transform", "config": {...}, "depends_on": ["fetch"]}]}

Pure functions, no database: `validate_definition` returns every problem as a
message that names the step it is about; `parse_definition` returns the steps
in a deterministic execution order (dependencies first, otherwise the order
they are written in) or raises DefinitionError.
"""

import heapq
import json
import re
from dataclasses import dataclass
from typing import Any

from . import limits
from .steps import get_step_kind, known_kinds

STEP_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,100}$")
STEP_FIELDS = ("name", "kind", "config", "depends_on")


class DefinitionError(ValueError):
    """The definition is not valid; `errors` lists every problem found."""

    def __init__(self, errors: list[str]):
        self.errors = errors
        super().__init__("; ".join(errors))


@dataclass(frozen=True)
class Step:
    name: str
    kind: str
    config: dict
    depends_on: tuple[str, ...]


def validate_definition(definition: Any) -> list[str]:
    """Every problem with the definition, each as a message naming its step; [] if valid."""
    _steps, errors = _check(definition)
    return errors


def parse_definition(definition: Any) -> list[Step]:
    """The steps in execution order; raises DefinitionError if the definition is not valid."""
    steps, errors = _check(definition)
    if errors:
        raise DefinitionError(errors)
    order, _blocked = _topological_order(steps)
    return order


def sink_names(steps: list[Step]) -> list[str]:
    """The steps no other step depends on, whose outputs make the run's output."""
    depended_on = {dependency for step in steps for dependency in step.depends_on}
    return [step.name for step in steps if step.name not in depended_on]


def _check(definition: Any) -> tuple[list[Step], list[str]]:
    if not isinstance(definition, dict):
        return [], ['The definition must be a JSON object with a "steps" list.']
    if limits.json_depth_exceeds(definition, limits.MAX_JSON_DEPTH):
        return [], [f"The definition nests more than {limits.MAX_JSON_DEPTH} levels deep."]
    try:
        size = limits.json_size(definition)
    except (TypeError, ValueError):
        return [], ["The definition must be plain JSON."]
    if size > limits.MAX_DEFINITION_BYTES:
        return [], [
            f"The definition is {size} bytes of JSON; at most {limits.MAX_DEFINITION_BYTES} "
            "are allowed."
        ]
    errors = []
    unknown = sorted(set(definition) - {"steps"})
    if unknown:
        errors.append(f'The definition has unknown fields: {", ".join(unknown)} (only "steps").')
    if "steps" not in definition:
        return [], [*errors, 'The definition has no "steps": add a list of steps.']
    raw_steps = definition["steps"]
    if not isinstance(raw_steps, list):
        return [], [*errors, '"steps" must be a list of steps.']
    if not raw_steps:
        return [], [*errors, "The definition needs at least one step."]
    if len(raw_steps) > limits.MAX_STEPS:
        return [], [
            *errors,
            f"A workflow has at most {limits.MAX_STEPS} steps; this one has {len(raw_steps)}.",
        ]

    steps: list[Step] = []
    seen_names: set[str] = set()
    has_duplicates = False
    for position, raw in enumerate(raw_steps, start=1):
        step, step_errors = _check_step(raw, position)
        errors.extend(step_errors)
        if step is None:
            continue
        if step.name in seen_names:
            errors.append(f"Step name '{step.name}' is used by more than one step.")
            has_duplicates = True
            continue
        seen_names.add(step.name)
        steps.append(step)

    errors.extend(_check_dependencies(steps, seen_names))
    if not has_duplicates:
        errors.extend(_check_cycles(steps))
    return steps, errors


def _check_step(raw: Any, position: int) -> tuple[Step | None, list[str]]:
    """One step's own fields; returns the step (if it has a usable name) and its problems."""
    if not isinstance(raw, dict):
        return None, [f"The step at position {position} must be an object."]
    name = raw.get("name")
    if name is None or name == "":
        return None, [f"The step at position {position} has no name."]
    if not isinstance(name, str) or not STEP_NAME_RE.match(name):
        return None, [
            f"The step at position {position} has an invalid name {json.dumps(name)}: use 1 to "
            "100 letters, digits, hyphens and underscores."
        ]

    errors = []
    unknown = sorted(set(raw) - set(STEP_FIELDS))
    if unknown:
        errors.append(
            f"Step '{name}' has unknown fields: {', '.join(unknown)} "
            f"(allowed: {', '.join(STEP_FIELDS)})."
        )

    kind_name = raw.get("kind")
    kind = get_step_kind(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        if kind_name is None:
            shown = "no kind"
        elif isinstance(kind_name, str):
            shown = f"an unknown kind '{kind_name}'"
        else:
            shown = f"an invalid kind {json.dumps(kind_name)}"
        errors.append(f"Step '{name}' has {shown}. Known kinds: {', '.join(known_kinds())}.")

    config = raw.get("config", {})
    if not isinstance(config, dict):
        errors.append(f"Step '{name}': config must be an object.")
        config = {}
    elif kind is not None:
        errors.extend(f"Step '{name}': {problem}" for problem in kind.validate_config(config))

    depends_on = raw.get("depends_on", [])
    if not isinstance(depends_on, list) or not all(isinstance(d, str) for d in depends_on):
        errors.append(f"Step '{name}': depends_on must be a list of step names.")
        depends_on = []
    for dependency in sorted({d for d in depends_on if depends_on.count(d) > 1}):
        errors.append(f"Step '{name}' lists '{dependency}' more than once in depends_on.")
    depends_on = list(dict.fromkeys(depends_on))

    if kind is not None:
        for used in sorted(kind.referenced_steps(config) - set(depends_on)):
            errors.append(
                f"Step '{name}' reads {{{{ steps.{used} }}}} but does not depend on '{used}': "
                f"add it to depends_on."
            )

    return Step(name, kind_name, config, tuple(depends_on)), errors


def _check_dependencies(steps: list[Step], names: set[str]) -> list[str]:
    errors = []
    for step in steps:
        for dependency in step.depends_on:
            if dependency == step.name:
                errors.append(f"Step '{step.name}' depends on itself.")
            elif dependency not in names:
                errors.append(
                    f"Step '{step.name}' depends on '{dependency}', which does not exist."
                )
    return errors


def _edges(steps: list[Step]) -> dict[str, list[str]]:
    """Each step's dependencies among the steps that exist, self-dependencies left out."""
    names = {step.name for step in steps}
    return {
        step.name: [d for d in step.depends_on if d in names and d != step.name] for step in steps
    }


def _topological_order(steps: list[Step]) -> tuple[list[Step], list[Step]]:
    """Kahn's algorithm; ties go to the step written first, so the order is deterministic.

    Returns the ordered steps and those left over (on, or downstream of, a cycle).
    """
    position = {step.name: index for index, step in enumerate(steps)}
    edges = _edges(steps)
    waiting_on = {name: len(dependencies) for name, dependencies in edges.items()}
    dependents: dict[str, list[str]] = {step.name: [] for step in steps}
    for name, dependencies in edges.items():
        for dependency in dependencies:
            dependents[dependency].append(name)

    ready = [position[name] for name, count in waiting_on.items() if count == 0]
    heapq.heapify(ready)
    order = []
    while ready:
        step = steps[heapq.heappop(ready)]
        order.append(step)
        for dependent in dependents[step.name]:
            waiting_on[dependent] -= 1
            if waiting_on[dependent] == 0:
                heapq.heappush(ready, position[dependent])
    done = {step.name for step in order}
    return order, [step for step in steps if step.name not in done]


def _check_cycles(steps: list[Step]) -> list[str]:
    """One message per cycle, naming its steps in the direction data flows."""
    errors = []
    remaining = list(steps)
    while True:
        _order, blocked = _topological_order(remaining)
        if not blocked:
            return errors
        cycle = _find_cycle(blocked)
        errors.append(f"Steps form a cycle: {' → '.join([*cycle, cycle[0]])}.")
        on_cycle = set(cycle)
        # Leave the cycle out (its edges with it) and look again for any other cycle.
        remaining = [
            Step(s.name, s.kind, s.config, tuple(d for d in s.depends_on if d not in on_cycle))
            for s in remaining
            if s.name not in on_cycle
        ]


def _find_cycle(blocked: list[Step]) -> list[str]:
    """A cycle among steps Kahn's algorithm could not order.

    Every blocked step waits on at least one other blocked step, so walking from
    the first blocked step to one of its blocked dependencies, again and again,
    must come back to a step already seen: that loop is a cycle.
    """
    position = {step.name: index for index, step in enumerate(blocked)}
    edges = _edges(blocked)
    path: list[str] = []
    current = blocked[0].name
    while current not in path:
        path.append(current)
        current = next(d for d in edges[current] if d in position)
    # The walk follows "depends on"; reverse it so each arrow points the way data flows.
    cycle = list(reversed(path[path.index(current) :]))
    first = min(range(len(cycle)), key=lambda index: position[cycle[index]])
    return cycle[first:] + cycle[:first]
