"""Turning the bytes of an uploaded file into plain text, one reader per file type.

Every problem a user can fix is raised as `ExtractionError`, whose message is
shown to them as the reason their document failed.
"""

import codecs
import csv
import io
import json
from collections.abc import Callable


class ExtractionError(Exception):
    """The file cannot be turned into text; the message says why, for the user."""

    def __init__(self, message: str):
        self.message = message
        super().__init__(message)


def decode_text(data: bytes) -> str:
    """Decode UTF-8 strictly (a leading byte order mark is allowed and dropped).

    Line endings are normalised to "\\n".
    """
    offset = len(codecs.BOM_UTF8) if data.startswith(codecs.BOM_UTF8) else 0
    try:
        text = data[offset:].decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ExtractionError(
            f"The file is not valid UTF-8 text (undecodable byte at position {exc.start + offset})."
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def extract_plain(text: str) -> str:
    """Plain text and Markdown are taken as they are."""
    return text


def extract_csv(text: str) -> str:
    """One line per data row, each cell labelled by its column: "name: Ada; age: 36".

    The first row is the header. Empty cells are left out, cells beyond the
    header are labelled "column N", and rows with no value at all are skipped.
    The dialect is the usual one: comma-separated, double-quoted.
    """
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    lines: list[str] = []
    header: list[str] | None = None
    try:
        for row in reader:
            if header is None:
                if any(cell.strip() for cell in row):
                    header = [cell.strip() for cell in row]
                continue
            labelled = [
                f"{_column_label(header, position)}: {cell.strip()}"
                for position, cell in enumerate(row)
                if cell.strip()
            ]
            if labelled:
                lines.append("; ".join(labelled))
    except csv.Error as exc:
        raise ExtractionError(
            f"The CSV file is malformed at line {reader.line_num}: {exc}."
        ) from exc
    if header is not None and not lines:
        raise ExtractionError("The CSV file has a header row but no data rows.")
    return "\n".join(lines)


def _column_label(header: list[str], position: int) -> str:
    if position < len(header) and header[position]:
        return header[position]
    return f"column {position + 1}"


def extract_json(text: str) -> str:
    """One line per value, named by its path: "user.roles[0]: admin".

    Strings are written as they are, other scalars as in JSON (true, null, 3.5);
    empty objects and arrays add nothing.
    """
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ExtractionError(
            f"The file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    except RecursionError as exc:
        raise ExtractionError("The JSON is nested too deeply to be read.") from exc
    except ValueError as exc:
        raise ExtractionError(f"The file is not valid JSON: {exc}.") from exc
    return "\n".join(_flatten_json(data))


def _flatten_json(data) -> list[str]:
    # An explicit stack rather than recursion: the depth of the input is the client's choice.
    lines: list[str] = []
    stack: list[tuple[str, object]] = [("", data)]
    while stack:
        path, value = stack.pop()
        if isinstance(value, dict):
            children = [
                (f"{path}.{key}" if path else str(key), item) for key, item in value.items()
            ]
        elif isinstance(value, list):
            children = [(f"{path}[{index}]", item) for index, item in enumerate(value)]
        else:
            scalar = value if isinstance(value, str) else json.dumps(value)
            lines.append(f"{path}: {scalar}" if path else scalar)
            continue
        stack.extend(reversed(children))
    return lines


EXTRACTORS: dict[str, Callable[[str], str]] = {
    ".txt": extract_plain,
    ".md": extract_plain,
    ".csv": extract_csv,
    ".json": extract_json,
}


def extract_text(data: bytes, *, extension: str) -> str:
    """The text of a file of type `extension` (".txt", ".md", ".csv" or ".json").

    Raises ExtractionError for a type without a reader, undecodable bytes,
    malformed content, or a file with no text in it.
    """
    extractor = EXTRACTORS.get(extension)
    if extractor is None:
        readable = ", ".join(EXTRACTORS)
        raise ExtractionError(
            f"Files of type {extension or '(none)'} cannot be read; readable types: {readable}."
        )
    decoded = decode_text(data)
    if not decoded.strip():
        raise ExtractionError("The file is empty.")
    text = extractor(decoded)
    if not text.strip():
        raise ExtractionError("The file has no text in it.")
    _check_storable(text)
    return text


def _check_storable(text: str) -> None:
    # PostgreSQL text columns hold neither NUL nor unpaired surrogates (which JSON
    # escapes such as \ud800 produce); a file with NUL is binary in disguise anyway.
    if "\x00" in text:
        raise ExtractionError("The file contains NUL characters; it looks binary, not text.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ExtractionError(
            f"The file contains an invalid character (an unpaired surrogate) "
            f"at position {exc.start} of its text."
        ) from exc
