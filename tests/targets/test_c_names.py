import pytest

from edgekit.errors import OptionError
from targets.c_names import RESERVED, c_identifier, camel, model_c_name


@pytest.mark.parametrize(
    "text, expected",
    [("my-model v2", "my_model_v2"), ("2fast", "m_2fast"), ("__hidden", "hidden"), ("a--b", "a_b"), ("", "model"),
     ("ünïcode", "n_code")],
)
def test_identifiers(text, expected):
    assert c_identifier(text) == expected


def test_derived_keyword_names_get_a_suffix():
    assert model_c_name("int", explicit=False) == "int_model"
    assert model_c_name("my-model v2", explicit=False) == "my_model_v2"


@pytest.mark.parametrize("text", ["int", "class", "my-model", "9lives"])
def test_explicit_names_must_be_valid(text):
    with pytest.raises(OptionError, match="--name"):
        model_c_name(text, explicit=True)


def test_camel_and_reserved():
    assert camel("my_model_v2") == "MyModelV2"
    assert {"int", "class", "constexpr", "_Bool"} <= RESERVED
