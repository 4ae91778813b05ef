"""Splitting extracted text into overlapping chunks.

Pure functions with no Django in them: the ingestion service feeds them the
text of a document and the chunk settings of its knowledge base.
"""

from collections.abc import Iterator
from dataclasses import dataclass

# Breaks preferred at the end of a chunk, best first: a paragraph, a line, a word.
_PARAGRAPH_BREAK = "\n\n"
_LINE_BREAK = "\n"


@dataclass(frozen=True, slots=True)
class TextChunk:
    """A slice of a text: `content == text[start_offset:end_offset]`."""

    content: str
    start_offset: int
    end_offset: int


def split_into_chunks(text: str, *, size: int, overlap: int) -> list[TextChunk]:
    """Split `text` into chunks of at most `size` characters that cover it completely.

    Each chunk after the first starts exactly `overlap` characters before the end
    of the previous one, so neighbours share `overlap` characters. A chunk ends
    at a natural break when one lies in its second half (past the overlap): the
    last blank line, else the last line break, else the last whitespace, which
    stays with the chunk it ends; a text without one there is cut at `size`.
    Lengths and offsets count characters (Unicode code points), not bytes.
    """
    return list(iter_chunks(text, size=size, overlap=overlap))


def iter_chunks(text: str, *, size: int, overlap: int) -> Iterator[TextChunk]:
    """The chunks of `split_into_chunks`, one at a time, so a caller can stop early."""
    if size < 1:
        raise ValueError("size must be at least 1.")
    if not 0 <= overlap < size:
        raise ValueError("overlap must be at least 0 and less than size.")

    length = len(text)
    start = 0
    while start < length:
        end = _chunk_end(text, start=start, size=size, overlap=overlap)
        yield TextChunk(text[start:end], start, end)
        if end == length:
            return
        start = end - overlap


def _chunk_end(text: str, *, start: int, size: int, overlap: int) -> int:
    hard_end = start + size
    if hard_end >= len(text):
        return len(text)
    # Never end at or before start + overlap: the next chunk must begin after this one did.
    earliest = start + max(overlap + 1, size // 2)
    for separator in (_PARAGRAPH_BREAK, _LINE_BREAK):
        found = text.rfind(separator, earliest - len(separator), hard_end)
        if found != -1:
            return found + len(separator)
    for position in range(hard_end - 1, earliest - 2, -1):
        if text[position].isspace():
            return position + 1
    return hard_end
