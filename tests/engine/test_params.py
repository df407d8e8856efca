"""ParamSpec checking: canonical values, clear refusals."""

import pytest

from graph_engine.params import ParamError, ParamSpec, check_params, pair


def test_int_range_and_type():
    spec = ParamSpec("kernel_size", "int", 3, "", minimum=1, maximum=9)
    assert spec.check(5) == 5
    with pytest.raises(ParamError, match=r"kernel_size must be ≥ 1, got -3"):
        spec.check(-3)
    with pytest.raises(ParamError, match="must be an integer"):
        spec.check(2.5)
    with pytest.raises(ParamError, match="must be an integer"):
        spec.check(True)


def test_int_or_pair_and_padding():
    spec = ParamSpec("padding", "padding", 0, "", minimum=0)
    assert spec.check([1, 2]) == [1, 2]
    assert spec.check((1, 2)) == [1, 2]
    assert spec.check("same") == "same"
    with pytest.raises(ParamError, match='or "same"'):
        spec.check("valid")
    with pytest.raises(ParamError, match="≥ 0"):
        spec.check([1, -1])
    one_d = ParamSpec("padding", "padding", 0, "", minimum=0, pair_allowed=False)
    with pytest.raises(ParamError, match="must be an integer"):
        one_d.check([1, 1])


def test_choice_bool_float_shape():
    assert ParamSpec("mode", "choice", "a", "", choices=("a", "b")).check("b") == "b"
    with pytest.raises(ParamError, match="one of 'a', 'b'"):
        ParamSpec("mode", "choice", "a", "", choices=("a", "b")).check("c")
    with pytest.raises(ParamError, match="true or false"):
        ParamSpec("bias", "bool", True, "").check(1)
    assert ParamSpec("p", "float", 0.5, "", minimum=0, maximum=1).check(1) == 1.0
    with pytest.raises(ParamError, match="≤ 1"):
        ParamSpec("p", "float", 0.5, "", minimum=0, maximum=1).check(1.5)
    with pytest.raises(ParamError, match="number"):
        ParamSpec("p", "float", 0.5, "").check(float("nan"))
    shape = ParamSpec("shape", "shape", [1], "", max_length=3)
    assert shape.check([3, 32, 32]) == [3, 32, 32]
    with pytest.raises(ParamError, match="≥ 1"):
        shape.check([3, 0])
    with pytest.raises(ParamError, match="1 to 3 dimensions"):
        shape.check([1, 2, 3, 4])


def test_check_params_fills_defaults_and_refuses_unknown_names():
    specs = (ParamSpec("a", "int", 1, ""), ParamSpec("b", "bool", False, ""))
    assert check_params(specs, {"a": 4}) == {"a": 4, "b": False}
    with pytest.raises(ParamError, match="unknown parameter 'c'"):
        check_params(specs, {"c": 1})


def test_pair():
    assert pair(3) == (3, 3)
    assert pair([2, 5]) == (2, 5)
