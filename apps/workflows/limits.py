"""The bounds of workflows and their runs, in one place (also listed in docs/WORKFLOWS.md)."""

import json
from typing import Any

# A definition: how many steps, and how large its JSON may be.
MAX_STEPS = 100
MAX_DEFINITION_BYTES = 256 * 1024

# A run's input, one step's output, and all step outputs of a run together (as JSON).
MAX_INPUT_BYTES = 64 * 1024
MAX_STEP_OUTPUT_BYTES = 256 * 1024
MAX_RUN_OUTPUT_BYTES = 4 * 1024 * 1024

# How deeply a definition, an input or a step output may nest: far below the
# recursion limits that encoding and saving JSON would otherwise hit with a 500.
MAX_JSON_DEPTH = 64

# A `wait` step sleeps at most this long, in slices so a cancellation is noticed quickly.
MAX_WAIT_SECONDS = 300
WAIT_SLICE_SECONDS = 0.2

# A `fail` step's message.
MAX_FAIL_MESSAGE_LENGTH = 1000


def json_size(value: Any) -> int:
    """The size of a value as UTF-8 JSON, in bytes; TypeError/ValueError if it is not JSON."""
    return len(json.dumps(value, ensure_ascii=False, allow_nan=False).encode())


def json_depth_exceeds(value: Any, limit: int) -> bool:
    """Whether objects and lists nest more than `limit` levels deep (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        current, depth = stack.pop()
        if isinstance(current, dict):
            children = current.values()
        elif isinstance(current, list):
            children = current
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
