"""Valid, non-reserved C/C++ identifiers for generated sources."""

from __future__ import annotations

import re

from edgekit.errors import OptionError

# C11 and C++17 keywords, plus names the generated code itself relies on.
RESERVED = frozenset(
    """
    alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t char16_t
    char32_t class compl concept const const_cast consteval constexpr constinit continue co_await
    co_return co_yield decltype default delete do double dynamic_cast else enum explicit export
    extern false float for friend goto if inline int long mutable namespace new noexcept not
    not_eq nullptr operator or or_eq private protected public register reinterpret_cast requires
    restrict return short signed sizeof static static_assert static_cast struct switch template
    this thread_local throw true try typedef typeid typename union unsigned using virtual void
    volatile wchar_t while xor xor_eq _Alignas _Alignof _Atomic _Bool _Complex _Generic
    _Imaginary _Noreturn _Static_assert _Thread_local main tflite
    """.split()
)


def c_identifier(text: str) -> str:
    """``text`` made into a C identifier: invalid characters become ``_``, no leading digit
    or underscore (leading underscores are reserved for the implementation)."""
    name = re.sub(r"[^0-9A-Za-z_]+", "_", text).strip("_")
    name = re.sub(r"_+", "_", name)
    if not name:
        return "model"
    if name[0].isdigit():
        name = "m_" + name
    return name


def model_c_name(text: str, explicit: bool) -> str:
    """The prefix of every generated symbol.

    A name the user typed (``--name``) must already be a valid, non-reserved identifier;
    a name derived from a file name is sanitised, and suffixed if it is a keyword.
    """
    name = c_identifier(text)
    if explicit and (name != text or text in RESERVED):
        why = "is a C/C++ keyword" if text in RESERVED else "is not a valid C identifier"
        raise OptionError(f"--name {text!r} {why}; try --name {name if name not in RESERVED else name + '_model'}")
    if name in RESERVED:
        name += "_model"
    return name


def camel(name: str) -> str:
    """``my_model_v2`` -> ``MyModelV2`` (for C++ type names)."""
    return "".join(part[:1].upper() + part[1:] for part in name.split("_") if part)
