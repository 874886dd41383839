import pytest

from edgekit.errors import OptionError
from quantize.prune.spec import PruneSpec, parse_prune_spec, parse_prune_specs


def test_kinds_and_options():
    s = parse_prune_spec("channels=0.3")
    assert (s.kind, s.ratio, s.criterion, s.layers) == ("channels", 0.3, "l1", ("all",))
    s = parse_prune_spec("channels=0.5,criterion=l2,layers=conv,exclude=stem+head*,conv2d_1=0.25")
    assert s.criterion == "l2" and s.exclude == ("stem", "head*")
    assert s.ratio_for("conv2d_1") == 0.25 and s.ratio_for("other") == 0.5
    assert s.in_scope("conv2d_1", "Conv2D") and not s.in_scope("dense", "Dense")
    assert not s.in_scope("head_1", "Conv2D") and s.in_scope("sep", "SeparableConv2D")
    s = parse_prune_spec("sparsity=0.8,mode=layer")
    assert (s.kind, s.ratio, s.mode) == ("sparsity", 0.8, "layer")
    assert parse_prune_spec("sparsity=0.8").mode == "global"
    assert parse_prune_spec("ops") == PruneSpec("ops")
    assert parse_prune_spec("ops,fold_bn=no").fold_bn is False


def test_name_patterns_in_layers():
    s = parse_prune_spec("channels=0.5,layers=block1_*+stem")
    assert s.in_scope("block1_conv", "Conv2D") and s.in_scope("stem", "Dense")
    assert not s.in_scope("block2_conv", "Conv2D")


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("filters=0.3", "unknown kind 'filters'"),
        ("channels", "give a ratio"),
        ("channels=1.2", "below 1"),
        ("channels=abc", "not a number"),
        ("channels=0.3,criterion=l3", "criterion 'l3'"),
        ("sparsity=0.8,mode=block", "mode 'block'"),
        ("sparsity=0.8,conv2d", "not KEY=VALUE"),
        ("ops=0.3", "takes no ratio"),
        ("ops,depth=2", "unknown option"),
    ],
)
def test_bad_specs_name_the_option(text, message):
    with pytest.raises(OptionError, match=message) as e:
        parse_prune_spec(text)
    assert str(e.value).startswith("--prune") and "\n" not in str(e.value)


def test_specs_apply_in_fixed_order_once_each():
    specs = parse_prune_specs(["sparsity=0.5", "ops", "channels=0.2"])
    assert [s.kind for s in specs] == ["ops", "channels", "sparsity"]
    assert [s.kind for s in parse_prune_specs("ops")] == ["ops"]
    with pytest.raises(OptionError, match="'channels' given 2 times"):
        parse_prune_specs(["channels=0.2", "channels=0.3"])
