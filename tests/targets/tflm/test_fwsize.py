"""Flash/RAM per component from a linker map: a tiny firmware linked with arm-none-eabi-gcc 12.2
(tests/golden/fwsize/fw.map; `arm-none-eabi-size -B` said text 676, data 4, bss 256)."""

from __future__ import annotations

from targets.tflm.fwsize import component, components, group_totals, parse_map, table_rows
from tests.conftest import ROOT

MAP = (ROOT / "tests" / "golden" / "fwsize" / "fw.map").read_text()
AN386 = {"flash": (0x0, 0x400000), "ram": (0x20000000, 0x400000)}


def test_components_add_up_to_the_elf_sizes():
    parts = components(MAP, name="tiny", objects="objs", **AN386)
    assert parts["flash_total"] == 676 + 4 and parts["ram_total"] == 4 + 256  # text + data, data + bss
    assert sum(group_totals(parts["flash"]).values()) == 680 and sum(group_totals(parts["ram"]).values()) == 260
    flash = parts["flash"]
    assert flash["model"] == {"model data": 40} and flash["kernels"] == {"conv": 54}
    assert flash["libraries"] == {"libc": 528}  # memcpy + strlen, from libc_nano.a members
    assert parts["ram"]["arena"] == {"tensor arena": 256} and parts["ram"]["application"] == {"main.c": 4}
    # The string both objects use is merged: charged once (to conv), micro_interpreter keeps its own.
    assert flash["runtime"] == {"TFLM runtime": 8}


def test_a_second_read_only_region_counts_as_flash():
    """The an547 keeps .rodata (the model) in its QSPI flash, outside the ITCM that holds the code:
    its bytes used to be missing from every component ("not in the map")."""
    split = {"flash": (0x0, 0x2a4), "ram": AN386["ram"]}  # .data's load image (at 0x2a4) in the second region
    assert components(MAP, name="tiny", objects="objs", **split)["flash_total"] == 676
    parts = components(MAP, name="tiny", objects="objs", **split, rodata=(0x2a4, 0x100))
    assert parts["flash_total"] == 680 and sum(group_totals(parts["flash"]).values()) == 680


def test_debug_sections_and_long_names_are_read():
    outputs, inputs = parse_map(MAP)
    names = {o["name"]: o for o in outputs}
    assert names[".text"]["size"] == 0x2a4 and names[".data"]["load"] == 0x2a4
    assert names[".debug_line_str"]["size"] == 0xb3  # a name alone on its line, the numbers on the next
    arena = next(i for i in inputs if i["name"] == ".bss.tensor_arena")
    assert arena["size"] == 256 and arena["file"] == "build/main.c.o"


def test_objects_are_known_by_name():
    cache = "/c/tflm-objects/k"
    assert component(f"{cache}/tensorflow/lite/micro/kernels/cmsis_nn/conv.o", "m", cache) == ("kernels", "conv")
    assert component(f"{cache}/tensorflow/lite/micro/kernels/conv_common.o", "m", cache) == ("kernels", "conv")
    assert component(f"{cache}/tensorflow/lite/micro/kernels/kernel_util.o", "m", cache) == ("kernels", "kernel helpers")
    assert component(f"{cache}/third_party/cmsis_nn/Source/ConvolutionFunctions/a.o", "m", cache) == \
        ("kernels", "CMSIS-NN library")  # fmt: skip
    assert component(f"{cache}/tensorflow/lite/micro/micro_allocator.o", "m", cache) == ("runtime", "TFLM runtime")
    assert component("/usr/lib/x/libstdc++_nano.a(new_op.o)", "m", cache) == ("libraries", "libstdc++")
    assert component("/usr/lib/x/libm.a(lib_a-s_floor.o)", "m", cache) == ("libraries", "libm")
    assert component("build/m_model_data.cc.o", "m", cache) == ("model", "model data")


def test_table_rows_end_with_the_totals():
    parts = components(MAP, name="tiny", objects="objs", **AN386)
    sizes = {"components": parts, "flash": 680, "ram_static": 260,
             "ram": {"stack_high_water": 512, "heap": 0, "total": 772}}  # fmt: skip
    rows = table_rows(sizes)
    assert rows[0] == ("model data", 40, None) and ("kernel: conv", 54, None) in rows
    assert ("stack (high-water mark)", None, 512) in rows and rows[-1] == ("total", 680, 772)
