import os

from edgekit.quiet import captured_native_output, terminal_stream


def test_native_writes_are_captured(capfd):
    term = terminal_stream(1)
    with captured_native_output() as log:
        os.write(2, b"native noise on fd 2\n")
        os.write(1, b"native noise on fd 1\n")
        term.write("for the user\n")
        term.flush()
    assert "native noise on fd 2" in log.text() and "native noise on fd 1" in log.text()
    assert "for the user" not in log.text()
    out, err = capfd.readouterr()
    assert "for the user" in out and "noise" not in out + err
    os.write(2, b"after\n")
    assert "after" in capfd.readouterr().err


def test_disabled_passes_through(capfd):
    with captured_native_output(enabled=False) as log:
        os.write(2, b"visible\n")
    assert log.text() == "" and "visible" in capfd.readouterr().err
