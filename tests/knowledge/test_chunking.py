"""The chunker on its own: sizes, overlap, where it breaks, coverage, unicode."""

import itertools
import random

import pytest

from apps.knowledge.chunking import TextChunk, split_into_chunks


def assert_valid_chunking(text, chunks, *, size, overlap):
    """The invariants every chunking keeps."""
    assert chunks[0].start_offset == 0
    assert chunks[-1].end_offset == len(text)
    for chunk in chunks:
        assert chunk.content == text[chunk.start_offset : chunk.end_offset]
        assert 0 < len(chunk.content) <= size
    for previous, current in itertools.pairwise(chunks):
        assert current.start_offset == previous.end_offset - overlap
        assert current.start_offset > previous.start_offset


def test_empty_text_has_no_chunks():
    assert split_into_chunks("", size=100, overlap=10) == []


def test_text_shorter_than_one_chunk_is_one_chunk():
    assert split_into_chunks("Short text.", size=100, overlap=10) == [
        TextChunk("Short text.", 0, 11)
    ]


def test_text_of_exactly_one_chunk_is_one_chunk():
    text = "x" * 100
    assert split_into_chunks(text, size=100, overlap=10) == [TextChunk(text, 0, 100)]


def test_text_without_whitespace_is_cut_at_the_size_and_overlaps_exactly():
    chunks = split_into_chunks("abcdefghij" * 3, size=10, overlap=3)
    assert [(c.start_offset, c.end_offset) for c in chunks] == [
        (0, 10),
        (7, 17),
        (14, 24),
        (21, 30),
    ]
    assert [c.content for c in chunks] == [
        "abcdefghij",
        "hijabcdefg",
        "efghijabcd",
        "bcdefghij",
    ]
    assert chunks[0].content[-3:] == chunks[1].content[:3]


def test_chunks_end_at_line_ends_and_neighbours_share_the_overlap():
    lines = [f"Line {n} " + "x" * 42 for n in range(1, 6)]  # 49 characters each
    text = "\n".join(lines) + "\n"  # 250 characters
    chunks = split_into_chunks(text, size=100, overlap=20)
    assert [(c.start_offset, c.end_offset) for c in chunks] == [
        (0, 100),
        (80, 150),
        (130, 200),
        (180, 250),
    ]
    assert chunks[0].content == lines[0] + "\n" + lines[1] + "\n"
    for previous, current in itertools.pairwise(chunks):
        assert previous.content[-20:] == current.content[:20]
    assert_valid_chunking(text, chunks, size=100, overlap=20)


def test_a_paragraph_break_is_preferred_to_a_line_break_and_a_line_break_to_a_space():
    paragraph = "a" * 60 + "\n\n" + "b" * 10 + "\n" + "c" * 10 + " " + "d" * 40
    chunks = split_into_chunks(paragraph, size=100, overlap=0)
    assert chunks[0].content == "a" * 60 + "\n\n"

    line = "a" * 60 + "\n" + "b" * 10 + " " + "c" * 40
    assert split_into_chunks(line, size=100, overlap=0)[0].content == "a" * 60 + "\n"

    words = "a" * 60 + " " + "b" * 10 + " " + "c" * 40
    assert (
        split_into_chunks(words, size=100, overlap=0)[0].content == "a" * 60 + " " + "b" * 10 + " "
    )


def test_a_break_in_the_first_half_of_a_chunk_is_not_taken():
    text = "a" * 10 + " " + "b" * 200
    chunks = split_into_chunks(text, size=100, overlap=0)
    assert chunks[0].end_offset == 100


def test_a_break_inside_the_overlap_is_not_taken_so_chunks_always_advance():
    # With an overlap of 80, ending before character 81 would not move the next chunk forward.
    text = "a" * 70 + " " + "b" * 200
    chunks = split_into_chunks(text, size=100, overlap=80)
    assert chunks[0].end_offset == 100
    assert_valid_chunking(text, chunks, size=100, overlap=80)


def test_no_overlap_partitions_the_text():
    text = "word " * 100
    chunks = split_into_chunks(text, size=64, overlap=0)
    assert "".join(c.content for c in chunks) == text
    assert_valid_chunking(text, chunks, size=64, overlap=0)


def test_unicode_is_counted_in_characters_and_sliced_by_offsets():
    text = "日本語のテキスト。" * 20 + "🙂 émoji and accents " * 10
    chunks = split_into_chunks(text, size=50, overlap=5)
    assert_valid_chunking(text, chunks, size=50, overlap=5)
    assert "".join(c.content for c in chunks).count("🙂") >= 10
    assert max(len(c.content) for c in chunks) == 50


@pytest.mark.parametrize(("size", "overlap"), [(0, 0), (10, 10), (10, 11), (10, -1)])
def test_impossible_settings_are_refused(size, overlap):
    with pytest.raises(ValueError, match=r"size|overlap"):
        split_into_chunks("text", size=size, overlap=overlap)


@pytest.mark.parametrize("seed", range(20))
def test_random_texts_keep_every_invariant(seed):
    generator = random.Random(seed)
    alphabet = "abc def\n\nghé🙂\t"
    text = "".join(generator.choice(alphabet) for _ in range(generator.randint(1, 3000)))
    size = generator.randint(1, 400)
    overlap = generator.randint(0, size - 1)
    assert_valid_chunking(
        text, split_into_chunks(text, size=size, overlap=overlap), size=size, overlap=overlap
    )
