"""The training-file check on its own: a stream in, statistics or the first bad line out."""

import io

import pytest

from apps.finetuning.validation import (
    NO_EXAMPLES,
    TrainingFileError,
    validate_training_file,
)

from .conftest import GOOD, VALID_FILE, VALID_STATS, example, jsonl


class OneLineAtATime(io.BytesIO):
    """A stream that fails the test if anything reads more than a line's worth at once."""

    def __init__(self, data, limit):
        super().__init__(data)
        self.limit = limit

    def read(self, size=-1):
        raise AssertionError("the whole file was read at once")

    def readline(self, size=-1):
        assert 0 < size <= self.limit + 2
        return super().readline(size)


def check(content: bytes, **kwargs):
    return validate_training_file(io.BytesIO(content), **kwargs)


def error_of(content: bytes, **kwargs) -> TrainingFileError:
    with pytest.raises(TrainingFileError) as caught:
        check(content, **kwargs)
    return caught.value


def test_valid_file_gives_exact_statistics():
    assert check(VALID_FILE).as_dict() == VALID_STATS


def test_file_is_read_line_by_line():
    stats = validate_training_file(OneLineAtATime(VALID_FILE, limit=1000), max_line_bytes=1000)
    assert stats.examples == 3


def test_tool_messages_and_extra_keys_are_accepted():
    line = {
        "messages": [
            {"role": "user", "content": "Weather?", "name": "ann"},
            {"role": "tool", "content": '{"temp": 21}'},
            {"role": "assistant", "content": "21 degrees."},
        ],
        "metadata": {"source": "support"},
    }
    stats = check(jsonl(line)).as_dict()
    assert stats["messages_by_role"] == {"system": 0, "user": 1, "assistant": 1, "tool": 1}


def test_byte_order_mark_and_windows_line_endings_are_accepted():
    content = b"\xef\xbb\xbf" + jsonl(GOOD).replace(b"\n", b"\r\n") * 2
    assert check(content).examples == 2


def test_last_line_without_newline_is_read():
    assert check(jsonl(GOOD) + jsonl(GOOD).rstrip(b"\n")).examples == 2


def test_estimated_tokens_round_up():
    stats = check(jsonl(example(("user", "abcde"), ("assistant", "x"))))
    assert (stats.characters, stats.estimated_tokens) == (6, 2)


@pytest.mark.parametrize(
    ("third_line", "message"),
    [
        ("{not json", "Line 3: invalid JSON (Expecting property name enclosed in double quotes"),
        ('{"messages": []', "Line 3: invalid JSON (Expecting ',' delimiter at column 16)."),
        ("[1, 2]", "Line 3: each line must be a JSON object, got an array."),
        ('"text"', "Line 3: each line must be a JSON object, got a string."),
        ({"prompt": "Hi", "completion": "Hello"}, 'Line 3: missing "messages".'),
        ({"messages": "Hi"}, 'Line 3: "messages" must be a list, got a string.'),
        ({"messages": []}, 'Line 3: "messages" must not be empty.'),
        (
            {"messages": [{"role": "user", "content": "Hi"}, "Hello"]},
            'Line 3, message 2: must be an object with "role" and "content", got a string.',
        ),
        (
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "bot", "content": "Yo"}]},
            "Line 3, message 2: role must be one of system, user, assistant, tool.",
        ),
        (
            {"messages": [{"role": "user", "content": "Hi"}, {"content": "Yo"}]},
            "Line 3, message 2: role must be one of system, user, assistant, tool.",
        ),
        (
            {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": ""}]},
            "Line 3, message 2: content must be a non-empty string.",
        ),
        (
            {"messages": [{"role": "user", "content": "  \n"}, {"role": "assistant"}]},
            "Line 3, message 1: content must be a non-empty string.",
        ),
        (
            {"messages": [{"role": "user", "content": 42}, {"role": "assistant", "content": "x"}]},
            "Line 3, message 1: content must be a non-empty string.",
        ),
        (
            {
                "messages": [
                    {"role": "system", "content": "Be nice."},
                    {"role": "user", "content": "Hi"},
                ]
            },
            "Line 3: needs at least one assistant message.",
        ),
    ],
)
def test_first_bad_line_is_reported_by_number(third_line, message):
    error = error_of(jsonl(GOOD, GOOD, third_line, "also bad", GOOD))
    assert error.message.startswith(message)
    assert error.line == 3
    assert error.as_stats() == {"is_valid": False, "error_line": 3, "examples_checked": 2}


def test_blank_lines_are_skipped_but_counted_in_line_numbers():
    error = error_of(jsonl("", "   ", "{bad"))
    assert error.message.startswith("Line 3: invalid JSON")
    assert error.as_stats()["examples_checked"] == 0


def test_undecodable_bytes_are_reported_with_their_line():
    error = error_of(jsonl(GOOD, GOOD) + b'{"messages": "caf\xe9"}\n')
    assert error.message == "Line 3: not valid UTF-8 text (byte 0xe9 at position 18)."


def test_deeply_nested_json_is_invalid_not_a_crash():
    error = error_of(b"[" * 100_000 + b"]" * 100_000 + b"\n")
    assert error.message == "Line 1: invalid JSON (nested too deeply)."


def test_overlong_line_is_refused_without_reading_it_whole():
    content = jsonl(GOOD, {"messages": [{"role": "user", "content": "x" * 200}]})
    error = error_of(content, max_line_bytes=100)
    assert error.message == "Line 2: longer than the limit of 100 bytes."
    exact = jsonl(GOOD)
    assert check(exact, max_line_bytes=len(exact) - 1).examples == 1


@pytest.mark.parametrize("content", [b"", b"\n\n  \n", b"\xef\xbb\xbf\n"])
def test_file_without_examples_is_refused(content):
    error = error_of(content)
    assert error.message == NO_EXAMPLES == "The training file has no examples."
    assert error.as_stats() == {"is_valid": False, "error_line": None, "examples_checked": 0}
