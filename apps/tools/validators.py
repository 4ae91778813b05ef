"""Checks of the JSON a tool carries: its parameters' schema, configuration and credentials."""

import json

from django.core.exceptions import ValidationError
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError

from apps.core.json_values import json_type

# Large enough for any real schema or configuration, small enough that nobody
# stores documents in a tool (every agent run loads its tools).
MAX_JSON_BYTES = 64 * 1024
# Real schemas nest a dozen levels; the bound keeps serializing and checking
# a value far from Python's recursion limit.
MAX_JSON_DEPTH = 64


def validate_json_object(value) -> None:
    """A JSON object (not a list, string or number) of at most MAX_JSON_BYTES serialized."""
    if not isinstance(value, dict):
        raise ValidationError(f"Must be a JSON object, got {json_type(value)}.")
    if _nesting_depth(value) > MAX_JSON_DEPTH:
        raise ValidationError(f"Must be nested at most {MAX_JSON_DEPTH} levels deep.")
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > MAX_JSON_BYTES:
        raise ValidationError(
            f"Must be at most {MAX_JSON_BYTES} bytes as JSON; this one is {size} bytes."
        )


def validate_parameters_schema(value) -> None:
    """A valid JSON Schema (draft 2020-12) whose top level describes an object.

    Models call tools with named arguments, so the top level is always an
    object schema: `{"type": "object", "properties": {...}}`.
    """
    validate_json_object(value)
    try:
        Draft202012Validator.check_schema(value)
    except SchemaError as error:
        location = "/".join(str(part) for part in error.path)
        where = f" at '{location}'" if location else ""
        raise ValidationError(f"Not a valid JSON Schema{where}: {error.message}") from None
    if value.get("type") != "object":
        raise ValidationError(
            'The top level must be an object schema: {"type": "object", "properties": {...}}.'
        )


def _nesting_depth(value) -> int:
    """How many objects and arrays deep `value` goes, without recursing (it may be deep)."""
    deepest = 0
    pending = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, depth)
        if deepest > MAX_JSON_DEPTH:
            return deepest
        pending.extend((child, depth + 1) for child in children)
    return deepest
