"""The text readers on their own: decoding, CSV and JSON flattening, refusals."""

import pytest

from apps.knowledge.extraction import ExtractionError, decode_text, extract_text


def refusal(data: bytes, extension: str) -> str:
    with pytest.raises(ExtractionError) as caught:
        extract_text(data, extension=extension)
    return caught.value.message


def test_plain_text_and_markdown_are_taken_as_they_are():
    assert extract_text(b"# Title\n\nSome *text*.", extension=".md") == "# Title\n\nSome *text*."
    assert extract_text("Café ☕".encode(), extension=".txt") == "Café ☕"


def test_a_byte_order_mark_is_dropped_and_line_endings_are_normalised():
    assert decode_text(b"\xef\xbb\xbfone\r\ntwo\rthree\n") == "one\ntwo\nthree\n"


def test_undecodable_bytes_are_refused_with_their_position():
    assert refusal(b"\xff\xfe\xfa", ".txt") == (
        "The file is not valid UTF-8 text (undecodable byte at position 0)."
    )
    # Positions count bytes of the file, the byte order mark included.
    assert "position 5" in refusal(b"\xef\xbb\xbfok\xc3(", ".txt")


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("extension", [".txt", ".md", ".csv", ".json"])
def test_empty_or_blank_files_are_refused(data, extension):
    assert refusal(data, extension) == "The file is empty."


def test_csv_rows_become_lines_of_labelled_cells():
    data = (
        b"name,city,note\n"
        b'Ada,London,"wrote the first program, 1843"\n'
        b"\n"
        b",,\n"
        b'Grace,,"multi\nline",extra\n'
    )
    assert extract_text(data, extension=".csv") == (
        "name: Ada; city: London; note: wrote the first program, 1843\n"
        "name: Grace; note: multi\nline; column 4: extra"
    )


def test_csv_with_a_header_only_is_refused():
    assert refusal(b"name,city\n", ".csv") == "The CSV file has a header row but no data rows."


def test_malformed_csv_is_refused_with_its_line():
    assert refusal(b'a,b\n1,2\n"open,3\n', ".csv") == (
        "The CSV file is malformed at line 3: unexpected end of data."
    )
    assert refusal(b'a,b\n"x"y,1\n', ".csv").startswith("The CSV file is malformed at line 2:")


def test_json_is_flattened_into_paths_and_values():
    data = b"""{
        "title": "Refunds",
        "steps": ["Ask for the order", {"check": "date", "days": 30}],
        "active": true, "owner": null, "ratio": 0.5, "empty": {}, "none": []
    }"""
    assert extract_text(data, extension=".json") == (
        "title: Refunds\n"
        "steps[0]: Ask for the order\n"
        "steps[1].check: date\n"
        "steps[1].days: 30\n"
        "active: true\n"
        "owner: null\n"
        "ratio: 0.5"
    )


def test_a_json_scalar_is_its_own_text():
    assert extract_text(b'"Just a sentence."', extension=".json") == "Just a sentence."


@pytest.mark.parametrize("data", [b"{}", b"[]", b'{"a": {}, "b": [[]]}'])
def test_json_without_any_value_is_refused(data):
    assert refusal(data, ".json") == "The file has no text in it."


def test_invalid_json_is_refused_with_line_and_column():
    assert refusal(b'{\n  "a": 1,\n}', ".json") == (
        "The file is not valid JSON: Expecting property name enclosed in double quotes "
        "at line 3, column 1."
    )


def test_json_nested_too_deeply_is_refused():
    assert refusal(b"[" * 100_000 + b"]" * 100_000, ".json") == (
        "The JSON is nested too deeply to be read."
    )


@pytest.mark.parametrize(
    ("data", "extension", "message"),
    [
        (b"text\x00more", ".txt", "NUL characters"),
        (b'["\\u0000"]', ".json", "NUL characters"),
        (b'["\\ud800"]', ".json", "unpaired surrogate"),
    ],
)
def test_text_a_database_cannot_store_is_refused(data, extension, message):
    assert message in refusal(data, extension)


def test_a_type_without_a_reader_is_refused():
    assert refusal(b"%PDF-1.7", ".pdf") == (
        "Files of type .pdf cannot be read; readable types: .txt, .md, .csv, .json."
    )
