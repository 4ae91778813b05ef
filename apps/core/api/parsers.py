from rest_framework.exceptions import ParseError
from rest_framework.parsers import JSONParser

# Deeper documents are refused: nothing in the API needs them, and storing one in a
# JSON column (or rendering it back) recurses once per level.
MAX_JSON_DEPTH = 100


def json_depth_exceeds(value, limit: int) -> bool:
    """Whether `value` nests lists or objects more than `limit` levels deep (without recursing)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser, refusing documents nested more than MAX_JSON_DEPTH levels."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise ParseError("JSON parse error - the document is nested too deeply.") from exc
        if json_depth_exceeds(data, MAX_JSON_DEPTH):
            raise ParseError(
                f"JSON parse error - the document is nested more than {MAX_JSON_DEPTH} levels deep."
            )
        return data
