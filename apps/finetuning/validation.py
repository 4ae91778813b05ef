"""Checking a JSONL training file of chat examples, line by line.

A pure module: it reads a binary stream and knows nothing of jobs, storage or
the database, so it is tested on its own and reused by any caller.

Each non-blank line is one example, a JSON object such as

    {"messages": [{"role": "user", "content": "Hi"},
                  {"role": "assistant", "content": "Hello!"}]}

The stream is read one line at a time (never the whole file at once) and the
check stops at the first bad line, reporting it by its number in the file.
"""

import json
import math
from dataclasses import dataclass, field
from typing import IO, Any

ROLES = ("system", "user", "assistant", "tool")
# What a chat fine-tuning example has to teach: at least one answer to imitate.
REQUIRED_ROLE = "assistant"
# The token estimate is the usual rule of thumb for English text and BPE tokenizers.
CHARACTERS_PER_TOKEN = 4
# One example (line ending aside) longer than this is refused rather than read into memory.
MAX_LINE_BYTES = 4 * 1024 * 1024

NO_EXAMPLES = "The training file has no examples."

_JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    int: "a number",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}


def _type_name(value: Any) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


class TrainingFileError(ValueError):
    """The training file is not usable; `message` says why and names the line.

    `line` is the 1-based number of the bad line (None when the file as a whole
    is wrong, e.g. has no examples); `examples_checked` counts the valid
    examples read before it.
    """

    def __init__(self, message: str, *, line: int | None, examples_checked: int):
        super().__init__(message)
        self.message = message
        self.line = line
        self.examples_checked = examples_checked

    def as_stats(self) -> dict:
        """What a failed check records: where it stopped, never any success counts."""
        return {
            "is_valid": False,
            "error_line": self.line,
            "examples_checked": self.examples_checked,
        }


@dataclass
class TrainingFileStats:
    """Counts over every example of a valid training file."""

    examples: int = 0
    messages: int = 0
    messages_by_role: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ROLES, 0))
    characters: int = 0
    blank_lines: int = 0
    min_messages_per_example: int = 0
    max_messages_per_example: int = 0

    @property
    def estimated_tokens(self) -> int:
        """About one token per CHARACTERS_PER_TOKEN characters of message content, rounded up."""
        return math.ceil(self.characters / CHARACTERS_PER_TOKEN)

    @property
    def mean_messages_per_example(self) -> float:
        return round(self.messages / self.examples, 2) if self.examples else 0.0

    def add_example(self, roles: list[str], characters: int) -> None:
        count = len(roles)
        if self.examples == 0:
            self.min_messages_per_example = self.max_messages_per_example = count
        else:
            self.min_messages_per_example = min(self.min_messages_per_example, count)
            self.max_messages_per_example = max(self.max_messages_per_example, count)
        self.examples += 1
        self.messages += count
        self.characters += characters
        for role in roles:
            self.messages_by_role[role] += 1

    def as_dict(self) -> dict:
        return {
            "is_valid": True,
            "examples": self.examples,
            "messages": self.messages,
            "messages_by_role": dict(self.messages_by_role),
            "characters": self.characters,
            "estimated_tokens": self.estimated_tokens,
            "min_messages_per_example": self.min_messages_per_example,
            "max_messages_per_example": self.max_messages_per_example,
            "mean_messages_per_example": self.mean_messages_per_example,
            "blank_lines": self.blank_lines,
        }


class _BadLine(Exception):
    """A problem with the current line; the caller adds the line number."""


def _decode(raw: bytes, *, is_first: bool) -> str:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        byte = raw[exc.start]
        raise _BadLine(
            f"not valid UTF-8 text (byte 0x{byte:02x} at position {exc.start + 1})."
        ) from None
    # Editors on Windows often start a UTF-8 file with a byte-order mark.
    if is_first and text.startswith("\ufeff"):
        text = text[1:]
    return text


def _parse(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise _BadLine(f"invalid JSON ({exc.msg} at column {exc.colno}).") from None
    except RecursionError:
        raise _BadLine("invalid JSON (nested too deeply).") from None


def _check_example(example: Any) -> tuple[list[str], int]:
    """The roles of an example's messages and its characters of content, or _BadLine."""
    if not isinstance(example, dict):
        raise _BadLine(f"each line must be a JSON object, got {_type_name(example)}.")
    if "messages" not in example:
        raise _BadLine('missing "messages".')
    messages = example["messages"]
    if not isinstance(messages, list):
        raise _BadLine(f'"messages" must be a list, got {_type_name(messages)}.')
    if not messages:
        raise _BadLine('"messages" must not be empty.')
    roles, characters = [], 0
    for position, message in enumerate(messages, start=1):
        where = f"message {position}"
        if not isinstance(message, dict):
            raise _BadLine(
                f'{where}: must be an object with "role" and "content", got {_type_name(message)}.'
            )
        role = message.get("role")
        if role not in ROLES:
            raise _BadLine(f"{where}: role must be one of {', '.join(ROLES)}.")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise _BadLine(f"{where}: content must be a non-empty string.")
        roles.append(role)
        characters += len(content)
    if REQUIRED_ROLE not in roles:
        raise _BadLine(f"needs at least one {REQUIRED_ROLE} message.")
    return roles, characters


def validate_training_file(
    stream: IO[bytes], *, max_line_bytes: int = MAX_LINE_BYTES
) -> TrainingFileStats:
    """Check every example of a JSONL training file and count what it holds.

    Blank (whitespace-only) lines are skipped but still counted in line
    numbers, so "Line 3" is the third line an editor shows. Raises
    TrainingFileError at the first bad line, or when there is no example.
    """
    stats = TrainingFileStats()
    number = 0
    # Room for the line ending, so a line of exactly max_line_bytes is still whole.
    while raw := stream.readline(max_line_bytes + 2):
        number += 1
        try:
            if len(raw.rstrip(b"\r\n")) > max_line_bytes:
                raise _BadLine(f"longer than the limit of {max_line_bytes} bytes.")
            text = _decode(raw, is_first=number == 1)
            if not text.strip():
                stats.blank_lines += 1
                continue
            roles, characters = _check_example(_parse(text.rstrip("\r\n")))
        except _BadLine as exc:
            # "Line 3: invalid JSON (...)" but "Line 3, message 2: role must be ..."
            detail = str(exc)
            separator = ", " if detail.startswith("message ") else ": "
            raise TrainingFileError(
                f"Line {number}{separator}{detail}", line=number, examples_checked=stats.examples
            ) from None
        stats.add_example(roles, characters)
    if stats.examples == 0:
        raise TrainingFileError(NO_EXAMPLES, line=None, examples_checked=0)
    return stats
