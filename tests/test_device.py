import pytest

from edgekit.device import builtin_devices, get_device, load_device_file
from edgekit.errors import OptionError
from tests.conftest import run_cli

GOOD = """
name = "my-board"
board = "test board"
core = "Cortex-M4"
clock_mhz = 100
sram_kb = 256
flash_kb = 1024
features = ["dsp", "fpu"]
kernels = "cmsis-nn"
"""


def test_shipped_profiles():
    devices = builtin_devices()
    for name in ("cortex-m0plus", "cortex-m4", "cortex-m7", "cortex-m33", "cortex-m55", "cortex-m85", "esp32-s3"):
        assert name in devices
    assert devices["cortex-m4"].clock_mhz == 120 and devices["cortex-m4"].sram_bytes == 640 * 1024
    assert devices["cortex-m0plus-32k"].sram_kb == 32
    assert "helium" in devices["cortex-m55"].features


def test_own_profile(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text(GOOD)
    d = get_device(file=p)
    assert d.name == "my-board" and d.flash_bytes == 1024 * 1024


@pytest.mark.parametrize(
    "change, message",
    [
        (("sram_kb = 256", "sram_kb = -1"), "'sram_kb' must be a positive number"),
        (("sram_kb = 256", "sram_kb = 'big'"), "'sram_kb' must be a positive number"),
        (("kernels = \"cmsis-nn\"", "kernels = \"magic\""), "'kernels' must be one of"),
        (("features = [\"dsp\", \"fpu\"]", "features = [\"warp\"]"), "'features' must be a list of"),
        (("name = \"my-board\"", "name = \"my board!\""), "may only use letters"),
        (("clock_mhz = 100", "clock_mhz = 100\nvoltage = 3"), "unknown key(s) voltage"),
        (("clock_mhz = 100", ""), "missing key(s) clock_mhz"),
        (("core = \"Cortex-M4\"", "core = = 1"), "not valid TOML"),
        (("clock_mhz = 100", "clock_mhz = 5e-324"), "'clock_mhz' must be a positive number from 1 to 10000"),
        (("clock_mhz = 100", "clock_mhz = nan"), "'clock_mhz' must be a positive number from 1 to 10000"),
        (("flash_kb = 1024", "flash_kb = 1e-300"), "'flash_kb' must be a positive number from 1 to"),
    ],
)
def test_bad_profiles(tmp_path, change, message):
    p = tmp_path / "b.toml"
    p.write_text(GOOD.replace(*change))
    with pytest.raises(OptionError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_device_file(p)


def test_device_file_must_be_a_small_regular_file():
    with pytest.raises(OptionError, match="--device-file /dev/zero: not a regular file"):
        load_device_file("/dev/zero")


def test_unknown_device_and_cli():
    with pytest.raises(OptionError, match="unknown; choose from"):
        get_device("cortex-m99")
    res = run_cli("devices")
    assert res.returncode == 0 and "cortex-m0plus-32k" in res.stdout
