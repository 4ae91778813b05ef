"""`{{ path }}` placeholders in JSON values, resolved against a step's context.

A template is any JSON value. Its strings may hold placeholders such as
`{{ input.name }}` or `{{ steps.fetch.items.0 }}`: a dotted path into the
context `{"input": <run input>, "steps": {<dependency>: <its output>}}`, where a
segment of digits indexes a list. A string that is exactly one placeholder
takes the referenced value with its JSON type; placeholders inside a longer
string are replaced by the value as text (strings as they are, anything else as
JSON). Object keys are never templated.

This is deliberately not a template language: a placeholder is a path, never an
expression, nothing is evaluated, and substituted values are not rendered
again, so user content cannot execute anything or expand recursively.
"""

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

# Placeholders hold no braces, so "{{ a }} and {{ b }}" is two placeholders, not one.
PLACEHOLDER_RE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
PATH_RE = re.compile(r"^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$")
ROOTS = ("input", "steps")


class TemplateError(Exception):
    """A template cannot be rendered against its context (the message says why)."""


def _strings(template: Any) -> Iterator[str]:
    if isinstance(template, str):
        yield template
    elif isinstance(template, dict):
        for value in template.values():
            yield from _strings(value)
    elif isinstance(template, list):
        for item in template:
            yield from _strings(item)


def placeholder_paths(template: Any) -> Iterator[str]:
    """Every placeholder's content in the template, as written (stripped)."""
    for text in _strings(template):
        for match in PLACEHOLDER_RE.finditer(text):
            yield match.group(1)


def check_template(template: Any) -> list[str]:
    """Problems with the template's placeholders, as messages; empty when it is usable."""
    errors = []
    for path in dict.fromkeys(placeholder_paths(template)):
        shown = "{{ " + path + " }}"
        if not PATH_RE.match(path):
            errors.append(
                f"{shown} is not a valid placeholder: use a dotted path such as "
                "{{ input.name }} or {{ steps.fetch.value }}."
            )
        elif path.split(".")[0] not in ROOTS:
            errors.append(f"{shown} must start with 'input' or 'steps'.")
        elif path == "steps":
            errors.append(f"{shown} must name a step, such as {{{{ steps.fetch }}}}.")
    return errors


def referenced_steps(template: Any) -> set[str]:
    """The names of the steps whose outputs the template reads (`steps.<name>...`)."""
    names = set()
    for path in placeholder_paths(template):
        if PATH_RE.match(path):
            segments = path.split(".")
            if segments[0] == "steps" and len(segments) > 1:
                names.add(segments[1])
    return names


def resolve(path: str, context: dict) -> Any:
    """The value at a dotted path of the context; TemplateError names the path if it is absent."""
    value: Any = context
    walked: list[str] = []
    for segment in path.split("."):
        if isinstance(value, dict) and segment in value:
            value = value[segment]
        elif isinstance(value, list) and segment.isdigit() and int(segment) < len(value):
            value = value[int(segment)]
        else:
            where = ".".join(walked) if walked else "the context"
            raise TemplateError(f"Path '{path}' does not exist: {where} has no '{segment}'.")
        walked.append(segment)
    return value


class _Renderer:
    """Renders one template, refusing results above `max_bytes` as soon as it can tell.

    The budget matters because one placeholder can stand for a large value: a
    template repeating it would otherwise multiply that value in memory.
    """

    def __init__(self, context: dict, max_bytes: int):
        self.context = context
        self.remaining = max_bytes
        self.max_bytes = max_bytes

    def _spend(self, size: int) -> None:
        self.remaining -= size
        if self.remaining < 0:
            raise TemplateError(f"The rendered template is larger than {self.max_bytes} bytes.")

    def render(self, template: Any) -> Any:
        if isinstance(template, dict):
            return {key: self.render(value) for key, value in template.items()}
        if isinstance(template, list):
            return [self.render(item) for item in template]
        if isinstance(template, str):
            return self._render_string(template)
        return template

    def _render_string(self, text: str) -> Any:
        whole = PLACEHOLDER_RE.fullmatch(text)
        if whole is not None:
            value = resolve(whole.group(1), self.context)
            self._spend(len(json.dumps(value)))
            # A copy, so no step can change the output another step produced.
            return copy.deepcopy(value)

        def substitute(match: re.Match) -> str:
            value = resolve(match.group(1), self.context)
            piece = value if isinstance(value, str) else json.dumps(value)
            self._spend(len(piece))
            return piece

        return PLACEHOLDER_RE.sub(substitute, text)


def render(template: Any, context: dict, *, max_bytes: int) -> Any:
    """The template with every placeholder replaced from `context` (see the module docstring)."""
    return _Renderer(context, max_bytes).render(template)
