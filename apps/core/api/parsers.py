from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper documents are refused: nothing in the API needs them, and storing one in a
# JSON column (or rendering it back) recurses once per level.
MAX_JSON_DEPTH = 100


def json_document_problem(value, *, max_depth: int = MAX_JSON_DEPTH) -> str | None:
    """Why a parsed JSON document cannot be stored, or None when it can.

    PostgreSQL refuses NUL characters and unpaired surrogates (from `\\u0000` or
    `\\ud800` escapes) in text and jsonb, and deep nesting exhausts the stack.
    Checked without recursion.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item or _has_lone_surrogate(item):
                return "JSON strings may not contain NUL characters or unpaired surrogates."
        elif isinstance(item, dict | list):
            if depth > max_depth:
                return f"the document is nested more than {max_depth} levels deep."
            if isinstance(item, dict):
                stack.extend((key, depth) for key in item)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)
    return None


def _has_lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents the database could not store.

    Too deeply nested (RecursionError in the parser, or beyond MAX_JSON_DEPTH),
    or holding NUL characters or unpaired surrogates: 400, never a 500 later.
    """

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        problem = json_document_problem(data)
        if problem:
            raise ParseError(f"JSON parse error - {problem}")
        return data
