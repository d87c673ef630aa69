"""Params and metrics capture: typed -p values, dotted keys, JSON/YAML/TOML files, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prov_git.capture.params import (
    MAX_DEPTH,
    collect_metrics,
    collect_params,
    load_structured,
    merge,
    parse_assignment,
    parse_value,
    set_path,
)
from prov_git.errors import ParamsError, UsageError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load(path: Path, kind: str = "params") -> dict[str, Any]:
    return load_structured(path, shown=path.name, kind=kind)


# ---------------------------------------------------------------------------------------------
# parse_value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("-2", -2),
        ("+4", 4),
        ("0", 0),
        ("0.1", 0.1),
        ("1e-3", 1e-3),
        ("-2.5E3", -2500.0),
        (".5", 0.5),
        ("true", True),
        ("True", True),
        ("FALSE", False),
        ("null", None),
    ],
)
def test_parse_value_typed(text: str, expected: Any) -> None:
    value = parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    "text",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e999",  # overflows to inf
        "007",  # an id, not 7
        "-007",
        "007.5",
        "none",
        "None",
        "yes",
        "1_000",
        "0x10",
        "3 ",
        "",
        "resnet",
        "a=b",
        "9007199254740993",  # beyond 2**53-1: the canonical record cannot hold it exactly
    ],
)
def test_parse_value_kept_as_string(text: str) -> None:
    assert parse_value(text) == text


def test_parse_value_largest_safe_integer_is_int() -> None:
    assert parse_value("9007199254740991") == 2**53 - 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [('"3"', "3"), ("'true'", "true"), ('"null"', "null"), ('""', ""), ("\"'x'\"", "'x'")],
)
def test_parse_value_quotes_force_a_string(text: str, expected: str) -> None:
    assert parse_value(text) == expected


@pytest.mark.parametrize("text", ['"', "'3\"", '"3', '3"'])
def test_parse_value_unmatched_quotes_stay(text: str) -> None:
    assert parse_value(text) == text


# ---------------------------------------------------------------------------------------------
# parse_assignment / set_path


def test_parse_assignment_dotted_key() -> None:
    assert parse_assignment("model.depth=3") == (["model", "depth"], 3)
    assert parse_assignment("lr=0.1") == (["lr"], 0.1)


def test_parse_assignment_splits_on_first_equals() -> None:
    assert parse_assignment("query=a=b") == (["query"], "a=b")
    assert parse_assignment("name=") == (["name"], "")


@pytest.mark.parametrize("text", ["depth", "=3", "a..b=1", ".a=1", "a.=1", "a. .b=1", ""])
def test_parse_assignment_malformed(text: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_assignment(text)
    message = str(info.value)
    assert "KEY=VALUE" in message
    assert repr(text) in message
    assert "\n" not in message


def test_parse_assignment_message_stays_one_line() -> None:
    with pytest.raises(UsageError) as info:
        parse_assignment("multi\nline")
    assert "\n" not in str(info.value)


def test_parse_assignment_refuses_undecodable_argv() -> None:
    with pytest.raises(UsageError, match="UTF-8"):
        parse_assignment("name=\udcff")


def test_parse_assignment_refuses_absurd_depth() -> None:
    with pytest.raises(UsageError):
        parse_assignment(".".join(["k"] * (MAX_DEPTH + 1)) + "=1")


def test_set_path_creates_nested_dicts() -> None:
    obj: dict[str, Any] = {"model": {"width": 8}}
    set_path(obj, ["model", "depth"], 3)
    set_path(obj, ["optim", "adam", "beta1"], 0.9)
    assert obj == {"model": {"width": 8, "depth": 3}, "optim": {"adam": {"beta1": 0.9}}}


def test_set_path_replaces_a_scalar_intermediate() -> None:
    obj: dict[str, Any] = {"model": "resnet"}
    set_path(obj, ["model", "depth"], 3)
    assert obj == {"model": {"depth": 3}}


# ---------------------------------------------------------------------------------------------
# merge


def test_merge_deep_and_new() -> None:
    base = {"model": {"depth": 2, "width": 8}, "lr": 0.1, "tags": [1, 2]}
    extra = {"model": {"depth": 4}, "tags": [3], "seed": 1}
    merged = merge(base, extra)
    assert merged == {"model": {"depth": 4, "width": 8}, "lr": 0.1, "tags": [3], "seed": 1}
    assert base == {"model": {"depth": 2, "width": 8}, "lr": 0.1, "tags": [1, 2]}
    assert extra == {"model": {"depth": 4}, "tags": [3], "seed": 1}


def test_merge_result_shares_nothing_with_inputs() -> None:
    base: dict[str, Any] = {"model": {"depth": 2}}
    merged = merge(base, {})
    set_path(merged, ["model", "depth"], 9)
    assert base == {"model": {"depth": 2}}


def test_merge_replaces_dict_with_scalar_and_back() -> None:
    assert merge({"a": {"b": 1}}, {"a": 2}) == {"a": 2}
    assert merge({"a": 2}, {"a": {"b": 1}}) == {"a": {"b": 1}}


# ---------------------------------------------------------------------------------------------
# load_structured: formats

NESTED = {"model": {"depth": 3, "layers": [{"width": 8}, {"width": 16}]}, "lr": 0.01, "name": "x"}


def test_load_json_nested(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", json.dumps(NESTED))
    assert load(path) == NESTED


def test_load_json_with_bom(tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(NESTED).encode())
    assert load(path) == NESTED


@pytest.mark.parametrize("name", ["p.yaml", "p.yml", "P.YAML"])
def test_load_yaml_nested(tmp_path: Path, name: str) -> None:
    text = """\
# comment
model:
  depth: 3
  layers:
    - width: 8
    - width: 16
lr: 0.01
name: x
"""
    assert load(write(tmp_path, name, text)) == NESTED


def test_load_toml_nested(tmp_path: Path) -> None:
    text = """\
lr = 0.01
name = "x"

[model]
depth = 3

[[model.layers]]
width = 8

[[model.layers]]
width = 16
"""
    assert load(write(tmp_path, "p.toml", text)) == NESTED
    assert load(write(tmp_path, "m.toml", text), kind="metrics") == NESTED


def test_parsers_are_imported_lazily(tmp_path: Path) -> None:
    # Every `git prov record` imports this module; YAML/TOML parsers load only for such files.
    path = write(tmp_path, "p.json", '{"a": 1}')
    code = (
        "import sys; from pathlib import Path; from prov_git.capture import params; "
        f"params.collect_params(['a=1'], [('p.json', Path({str(path)!r}))]); "
        "print(sorted({'yaml', 'tomllib', 'tomli'} & set(sys.modules)))"
    )
    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=root, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unknown_extension_json(tmp_path: Path) -> None:
    assert load(write(tmp_path, "params.cfg", json.dumps(NESTED))) == NESTED


def test_unknown_extension_yaml_fallback(tmp_path: Path) -> None:
    path = write(tmp_path, "params", "model:\n  depth: 3\nlr: 0.01\n")
    assert load(path) == {"model": {"depth": 3}, "lr": 0.01}


def test_unknown_extension_neither(tmp_path: Path) -> None:
    path = write(tmp_path, "params.txt", "a: 1\nb: 2\n  c: 3\n")
    with pytest.raises(ParamsError) as info:
        load(path)
    assert str(info.value).startswith("params.txt:3: params file is not valid JSON or YAML: ")


def test_empty_yaml_is_empty_mapping(tmp_path: Path) -> None:
    assert load(write(tmp_path, "p.yaml", "# nothing yet\n")) == {}


# ---------------------------------------------------------------------------------------------
# load_structured: malformed files name the file and the line


@pytest.mark.parametrize(
    ("name", "text", "line", "fmt"),
    [
        ("bad.json", '{\n  "a": 1,\n  "b": 2\n  "c": 3\n}\n', 4, "JSON"),
        ("bad.json", '{\n  "a": 1,\n}\n', 3, "JSON"),
        ("bad.yaml", "a: 1\nb: 2\n  c: 3\n", 3, "YAML"),
        ("bad.yml", "a: 1\nb:\n  - x\n\t- y\n", 4, "YAML"),
        ("bad.yaml", "a: 1\nb: !!python/object:os.system x\n", 2, "YAML"),
        ("bad.yaml", "a: 1\n---\nb: 2\n", 2, "YAML"),
        ("bad.yaml", 'a: 1\nb: 2\nc: "\x07"\n', 3, "YAML"),
        ("bad.toml", "a = 1\n[model]\ndepth = = 3\n", 3, "TOML"),
        ("bad.toml", "a = 1\nb = 2\na = 3\n", 3, "TOML"),
        ("bad.toml", 'a = 1\nb = "open\n', 2, "TOML"),
    ],
)
def test_malformed_file_names_file_and_line(
    tmp_path: Path, name: str, text: str, line: int, fmt: str
) -> None:
    path = write(tmp_path, name, text)
    with pytest.raises(ParamsError) as info:
        load_structured(path, shown=f"conf/{name}", kind="params")
    message = str(info.value)
    assert message.startswith(f"conf/{name}:{line}: params file is not valid {fmt}: ")
    assert len(message) > len(f"conf/{name}:{line}: params file is not valid {fmt}: ")
    assert "\n" not in message


def test_malformed_metrics_says_metrics(tmp_path: Path) -> None:
    path = write(tmp_path, "m.json", "{\n  oops\n}\n")
    with pytest.raises(ParamsError, match=r"^m\.json:2: metrics file is not valid JSON: "):
        load(path, kind="metrics")


def test_invalid_utf8_names_line(tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_bytes(b"a: 1\nb: \xff\n")
    with pytest.raises(ParamsError, match=r"^p\.yaml:2: params file is not valid UTF-8"):
        load(path)


@pytest.mark.parametrize(
    ("name", "text", "what"),
    [
        ("p.json", "[1, 2]", "a list"),
        ("p.yaml", "- a\n- b\n", "a list"),
        ("p.json", '"hello"', "a string"),
        ("p.json", "3", "a number"),
        ("p.json", "null", "null"),
    ],
)
def test_top_level_must_be_mapping(tmp_path: Path, name: str, text: str, what: str) -> None:
    with pytest.raises(ParamsError) as info:
        load(write(tmp_path, name, text))
    message = str(info.value)
    assert message.startswith(f"{name}: params file must hold a mapping")
    assert message.endswith(f"not {what}")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ParamsError) as info:
        load_structured(tmp_path / "nope.yaml", shown="conf/nope.yaml", kind="params")
    assert str(info.value) == "conf/nope.yaml: params file does not exist"


def test_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "d.json").mkdir()
    with pytest.raises(ParamsError, match=r"^d\.json: params file is a directory"):
        load(tmp_path / "d.json")


# ---------------------------------------------------------------------------------------------
# load_structured: values must be JSON


@pytest.mark.parametrize(
    ("name", "text", "where"),
    [
        ("p.json", '{"model": {"lr": NaN}}', "model.lr"),
        ("p.json", '{"a": [1, Infinity]}', "a[1]"),
        ("p.json", '{"a": 1e999}', "a"),
        ("p.yaml", "model:\n  lr: .nan\n", "model.lr"),
        ("p.yaml", "a: -.inf\n", "a"),
        ("p.toml", "[model]\nlr = nan\n", "model.lr"),
    ],
)
def test_non_finite_refused(tmp_path: Path, name: str, text: str, where: str) -> None:
    with pytest.raises(ParamsError) as info:
        load(write(tmp_path, name, text))
    message = str(info.value)
    assert message.startswith(f"{name}: params value {where} is ")
    assert "NaN or infinity" in message


def test_yaml_dates_become_iso_strings(tmp_path: Path) -> None:
    text = "day: 2024-01-02\nwhen: 2024-01-02 10:30:00\nzoned: 2024-01-02T10:30:00+02:00\n"
    assert load(write(tmp_path, "p.yaml", text)) == {
        "day": "2024-01-02",
        "when": "2024-01-02T10:30:00",
        "zoned": "2024-01-02T10:30:00+02:00",
    }


def test_toml_dates_and_times_become_iso_strings(tmp_path: Path) -> None:
    text = "day = 2024-01-02\nat = 07:32:00\nwhen = 1979-05-27T07:32:00Z\n"
    assert load(write(tmp_path, "p.toml", text)) == {
        "day": "2024-01-02",
        "at": "07:32:00",
        "when": "1979-05-27T07:32:00+00:00",
    }


def test_yaml_non_string_keys_become_strings(tmp_path: Path) -> None:
    text = "1: one\n2.5: half\nfalse: no\nnull: nothing\n2024-01-02: day\nok: {3: x}\n"
    assert load(write(tmp_path, "p.yaml", text)) == {
        "1": "one",
        "2.5": "half",
        "false": False,
        "null": "nothing",
        "2024-01-02": "day",
        "ok": {"3": "x"},
    }


def test_yaml_keys_colliding_as_strings_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="twice"):
        load(write(tmp_path, "p.yaml", '1: a\n"1": b\n'))


@pytest.mark.parametrize(
    ("text", "where", "what"),
    [
        ("a:\n  b: !!binary aGVsbG8=\n", "a.b", "binary data"),
        ("a: !!set {x, y}\n", "a", "a set"),
    ],
)
def test_yaml_binary_and_sets_refused(tmp_path: Path, text: str, where: str, what: str) -> None:
    with pytest.raises(ParamsError) as info:
        load(write(tmp_path, "p.yaml", text))
    assert str(info.value) == f"p.yaml: params value {where} is {what}, which JSON cannot hold"


def test_big_integers_kept_exact_as_text(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"seed": 18446744073709551615, "ok": 9007199254740991}')
    assert load(path) == {"seed": "18446744073709551615", "ok": 9007199254740991}


def test_lone_surrogate_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match=r"^p\.json: params value a is a string"):
        load(write(tmp_path, "p.json", '{"a": "\\ud800"}'))


def test_deeply_nested_json_refused(tmp_path: Path) -> None:
    path = write(tmp_path, "p.json", '{"a": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ParamsError, match=r"^p\.json: params file is nested too deeply"):
        load(path)


def test_moderately_nested_refused_with_key_path(tmp_path: Path) -> None:
    depth = MAX_DEPTH + 5
    path = write(tmp_path, "p.json", '{"a": ' + "[" * depth + "]" * depth + "}")
    with pytest.raises(ParamsError, match=rf"nested more than {MAX_DEPTH} levels"):
        load(path)


def test_nesting_up_to_the_limit_is_fine(tmp_path: Path) -> None:
    text = '{"a": ' + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "}"
    assert load(write(tmp_path, "p.json", text)) == json.loads(text)


def test_self_referencing_yaml_refused(tmp_path: Path) -> None:
    with pytest.raises(ParamsError, match="nested more than"):
        load(write(tmp_path, "p.yaml", "a: &x [1, *x]\n"))


def test_yaml_alias_bomb_refused(tmp_path: Path) -> None:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    with pytest.raises(ParamsError, match="more than"):
        load(write(tmp_path, "p.yaml", "\n".join(lines) + "\n"))


def test_yaml_python_tags_never_execute(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f'a: !!python/object/apply:os.system ["touch {marker}"]\n'
    with pytest.raises(ParamsError, match=r"^p\.yaml:1: params file is not valid YAML"):
        load(write(tmp_path, "p.yaml", text))
    assert not marker.exists()


# ---------------------------------------------------------------------------------------------
# collect_params / collect_metrics


def test_collect_params_files_then_assignments(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", "model:\n  depth: 2\n  width: 8\nlr: 0.1\n")
    over = write(tmp_path, "over.json", '{"model": {"width": 16}, "seed": 1}')
    params = collect_params(
        ["model.depth=4", "tag=007", "lr=0.05", "model.act=relu"],
        [("conf/base.yaml", base), ("over.json", over)],
    )
    assert params == {
        "model": {"depth": 4, "width": 16, "act": "relu"},
        "lr": 0.05,
        "seed": 1,
        "tag": "007",
    }


def test_collect_params_later_assignment_wins(tmp_path: Path) -> None:
    assert collect_params(["a=1", "a=2", "b=x", "b.c=3"], []) == {"a": 2, "b": {"c": 3}}


def test_collect_params_nothing() -> None:
    assert collect_params([], []) == {}


def test_collect_params_reports_bad_file_as_typed(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.toml", "x = \n")
    with pytest.raises(ParamsError, match=r"^cfg/bad\.toml:1: params file is not valid TOML"):
        collect_params([], [("cfg/bad.toml", bad)])


def test_collect_params_bad_assignment(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="KEY=VALUE"):
        collect_params(["depth"], [])


def test_collect_metrics_merged(tmp_path: Path) -> None:
    a = write(tmp_path, "train.json", '{"loss": 0.5, "eval": {"acc": 0.8}}')
    b = write(tmp_path, "eval.yaml", "eval:\n  f1: 0.7\n  acc: 0.9\n")
    assert collect_metrics([("train.json", a), ("eval.yaml", b)]) == {
        "loss": 0.5,
        "eval": {"acc": 0.9, "f1": 0.7},
    }


def test_collect_metrics_not_produced(tmp_path: Path) -> None:
    with pytest.raises(ParamsError) as info:
        collect_metrics([("out/metrics.json", tmp_path / "metrics.json")])
    assert str(info.value).startswith(
        "metrics file out/metrics.json was not produced by the command"
    )


def test_collect_metrics_malformed_says_metrics(tmp_path: Path) -> None:
    path = write(tmp_path, "m.yaml", "loss: 0.5\n  acc: 1\n")
    with pytest.raises(ParamsError, match=r"^out/m\.yaml:2: metrics file is not valid YAML"):
        collect_metrics([("out/m.yaml", path)])
