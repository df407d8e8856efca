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


# -- text (a typed field) <-> value ----------------------------------------------------
@pytest.mark.parametrize("kind, text, expected", [
    ("int_or_pair", "3", 3),
    ("int_or_pair", " 3, 5 ", [3, 5]),
    ("int_or_pair", "[3, 5]", [3, 5]),
    ("int_or_pair", "(3 5)", [3, 5]),
    ("int_or_pair", "3×5", [3, 5]),
    ("padding", "SAME", "same"),
    ("padding", "1, 2", [1, 2]),
    ("optional_int_or_pair", "", None),
    ("optional_int_or_pair", "[]", None),
    ("optional_int_or_pair", "2", 2),
    ("shape", "1, 28, 28", [1, 28, 28]),
    ("shape", "[7]", [7]),
])
def test_parse_text_reads_the_forms_a_person_types(kind, text, expected):
    spec = ParamSpec("p", kind, 1, "", minimum=0)
    assert spec.parse_text(text) == expected


def test_parse_text_of_floats():
    spec = ParamSpec("eps", "float", 1e-5, "", minimum=0.0)
    assert spec.parse_text(" 1e-12 ") == 1e-12
    assert isinstance(spec.parse_text("2"), float)
    with pytest.raises(ParamError, match=r"eps must be a number, got 'abc'"):
        spec.parse_text("abc")
    with pytest.raises(ParamError, match="must be a finite number, got 'inf'"):
        spec.parse_text("inf")
    with pytest.raises(ParamError, match="≥ 0"):
        spec.parse_text("-1")


def test_parse_text_refusals_name_the_expected_form():
    with pytest.raises(ParamError, match="kernel_size needs a value, e.g. 3 or 3, 5"):
        ParamSpec("kernel_size", "int_or_pair", 3, "").parse_text("  ")
    with pytest.raises(ParamError, match="shape needs a value, e.g. 1, 28, 28"):
        ParamSpec("shape", "shape", [1], "").parse_text("")
    with pytest.raises(ParamError, match="an integer or a pair of integers"):
        ParamSpec("stride", "int_or_pair", 1, "").parse_text("two")
    with pytest.raises(ParamError, match="≥ 1"):
        ParamSpec("stride", "int_or_pair", 1, "", minimum=1).parse_text("0, 2")
    with pytest.raises(ParamError, match="must be an integer or a pair"):
        ParamSpec("stride", "int_or_pair", 1, "").parse_text("1, 2, 3")


@pytest.mark.parametrize("value, text", [
    (None, ""), ([3, 5], "3, 5"), ((1, 28, 28), "1, 28, 28"), (1e-05, "1e-05"), (0.5, "0.5"),
    (3, "3"), ("same", "same"), (True, "True"),
])
def test_format_text(value, text):
    assert ParamSpec.format_text(value) == text


@pytest.mark.parametrize("kind, value", [
    ("int_or_pair", 3), ("int_or_pair", [3, 5]), ("padding", "same"), ("optional_int_or_pair", None),
    ("shape", [1, 28, 28]), ("float", 1e-12), ("float", 0.1),
])
def test_text_round_trip(kind, value):
    spec = ParamSpec("p", kind, value, "", minimum=0)
    assert spec.parse_text(spec.format_text(value)) == value
