import os

import pytest

from edgekit.errors import DataError, OptionError
from edgekit.files import TEXT_LIMIT, read_bounded


def test_devices_fifos_and_huge_files_are_refused_unread(tmp_path):
    with pytest.raises(OptionError, match="--config /dev/zero: not a regular file"):
        read_bounded("/dev/zero", "--config")
    os.mkfifo(tmp_path / "pipe")  # no writer: a plain open() would block forever
    with pytest.raises(DataError, match="--labels .*pipe: not a regular file"):
        read_bounded(tmp_path / "pipe", "--labels", error=DataError)
    big = tmp_path / "big.toml"
    with open(big, "wb") as f:
        f.truncate(TEXT_LIMIT + 1)  # sparse: costs no disk
    with pytest.raises(OptionError, match=r"8,388,609 bytes, more than the 8,388,608"):
        read_bounded(big, "--config")


def test_text_is_returned_and_bad_text_named(tmp_path):
    (tmp_path / "ok.txt").write_text("cat\ndog\n")
    assert read_bounded(tmp_path / "ok.txt", "--labels") == "cat\ndog\n"
    (tmp_path / "bin.txt").write_bytes(b"ab\xff")
    with pytest.raises(OptionError, match="not UTF-8 text"):
        read_bounded(tmp_path / "bin.txt", "--labels")
    with pytest.raises(FileNotFoundError):
        read_bounded(tmp_path / "none.txt", "--labels")
