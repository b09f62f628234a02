"""Reading a JSON object from a file: each way it can be wrong is said, with the caller's error type and hint."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.base.errors import SlmopsError
from engine.base.jsonfile import read_object, read_object_or_none


class Damaged(SlmopsError):
    pass


@pytest.mark.parametrize(
    "content, said",
    [(None, "does not exist"), (b"\xff\xfe", "cannot be read"), (b"{", "is not valid JSON"), (b"[1]", "is not a JSON object")],
    ids=["missing", "not text", "not JSON", "not an object"],
)
def test_what_is_wrong_with_the_file_is_said_with_the_callers_hint(tmp_path: Path, content: bytes | None, said: str):
    path = tmp_path / "x.json"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(Damaged, match=f"^the x file {said}") as caught:
        read_object(path, "the x file", "Write it again.", error=Damaged)
    assert caught.value.hint == "Write it again."
    assert read_object_or_none(path) is None


def test_a_missing_file_may_have_an_error_of_its_own(tmp_path: Path):
    with pytest.raises(Damaged, match="no x here"):
        read_object(tmp_path / "x.json", missing=Damaged("no x here", "Make one."))


def test_an_object_is_read(tmp_path: Path):
    (tmp_path / "x.json").write_text('{"a": 1}')
    assert read_object(tmp_path / "x.json") == read_object_or_none(tmp_path / "x.json") == {"a": 1}
