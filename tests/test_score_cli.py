"""`dxbot score` end to end: the real console command in a subprocess, as an operator runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any, NamedTuple

import pytest

pytestmark = pytest.mark.slow  # a `dxbot score` process per case

PROJECT_ROOT = Path(__file__).resolve().parent.parent

SCENES = {f"S{i:02d}": 1 for i in range(1, 17)}
ANSWERS: dict[str, Any] = {
    "B1": ["B", "C"], "B2": "C", "B3": "B", "B4": ["B", "O"], "B5": "C", "B6": ["A"],
    "B7": ["B"], "M1": "D", "M2": ["B"], "M3": ["A"], "M4": "B", "R1": "B", "R2": "C",
    "R3": "C", "R4": "A", **SCENES,
}
# The same enterprise at level 2: every scene at 2, and B4 at 3.5 instead of 1.6: exactly 40.
ANSWERS_LEVEL_2: dict[str, Any] = {**ANSWERS, "B4": list("BCDEF"), **dict.fromkeys(SCENES, 2)}

DIRECTORY = object()  # write(): make a directory, not a file

NUMERIC_KEYS = {"total", "max_score", "score", "level", "min_score", "points_missing",
                "scene_level", "scenes_missing", "constraint_scenes_missing", "target",
                "scenes", "constraint_scenes", "scenes_at_least", "constraint_scenes_at_least"}


# --- the runs ------------------------------------------------------------------------------

# The invalid kinds an operator meets most, each in a run of its own: (content, question named).
INVALID: dict[str, tuple[Any, str | None]] = {
    "unknown-code": ({"answers": {**ANSWERS, "X9": "A"}}, "X9"),
    "unknown-key": ({"answers": {**ANSWERS, "B2": "Z"}}, "B2"),
    "missing-question": ({"answers": {k: v for k, v in ANSWERS.items() if k != "R2"}}, "R2"),
    "a-combined": ({"answers": {**ANSWERS, "B1": ["A", "B"]}}, "B1"),
    "list-for-single": ({"answers": {**ANSWERS, "B5": ["C"]}}, "B5"),
    "scene-level-5": ({"answers": {**ANSWERS, "S03": 5}}, "S03"),
    "invalid-json": ('{"answers": {"B1": ["A"],}}', None),
    "not-an-object": ([ANSWERS], None),
}
# Further kinds, all in one run: each file still gets its own lines.
MORE_INVALID: dict[str, tuple[Any, str | None]] = {
    "missing-scene.json": ({"answers": {k: v for k, v in ANSWERS.items() if k != "S09"}}, "S09"),
    "scene-fraction.json": ({"answers": {**ANSWERS, "S03": 2.5}}, "S03"),
    "scene-text.json": ({"answers": {**ANSWERS, "S04": "2"}}, "S04"),
    "contradicting-figures.json": ({"answers": ANSWERS,
                                    "figures": {"digital_equipment": 100,
                                                "production_equipment_total": 120}}, "B2"),
    "negative-figure.json": ({"answers": ANSWERS, "figures": {"cost_last_year": -5}}, None),
    "not-utf8.json": ('{"answers": {}}'.encode("utf-16"), None),
    "nan.json": ('{"answers": {"S01": NaN}}', None),
    "duplicate-key.json": ('{"answers": {"B2": "A", "B2": "E"}}', "B2"),
    "answers-not-an-object.json": ({"answers": list(ANSWERS)}, None),
    "unknown-field.json": ({"answers": ANSWERS, "answer": {}}, None),
    "figures-not-an-object.json": ({"answers": ANSWERS, "figures": [45, 120]}, None),
    "set-not-text.json": ({"indicator_set": 2024, "answers": ANSWERS}, None),
    "a-directory.json": (DIRECTORY, None),
}
LEVEL_2_FILE = {"indicator_set": "miit-2024", "answers": ANSWERS_LEVEL_2}
# B2 from figures (45 of 120: option C); B3 C (+1.5) and M4 A (-1.875): 38.1 - 0.375 = 37.725
FIGURES_FILE = {"answers": {**{k: v for k, v in ANSWERS.items() if k != "B2"},
                            "B3": "C", "M4": "A"},
                "figures": {"digital_equipment": 45, "production_equipment_total": 120}}
MANY_PROBLEMS = {**{k: v for k, v in ANSWERS.items() if k not in ("M1", "S16")},
                 "B1": ["A", "C"], "B4": "B", "Q7": "A"}
BAD_B5 = {"answers": {**ANSWERS, "B5": ["C"]}}

RUNS: dict[str, tuple[dict[str, Any], list[str], str | None]] = {
    "one-valid": ({"acme.json": {"answers": ANSWERS}}, ["acme.json"], None),
    "several-valid": ({"b-second.json": LEVEL_2_FILE, "a-first.json": {"answers": ANSWERS},
                       "c-figures.json": FIGURES_FILE},
                      ["b-second.json", "a-first.json", "c-figures.json"], None),
    **{f"invalid-{kind}": ({"input.json": content}, ["input.json"], None)
       for kind, (content, _) in INVALID.items()},
    "invalid-unreadable": ({}, ["does-not-exist.json"], None),
    "more-invalid": ({name: content for name, (content, _) in MORE_INVALID.items()},
                     list(MORE_INVALID), None),
    "many-problems": ({"many.json": {"answers": MANY_PROBLEMS}}, ["many.json"], None),
    "mixed": ({"good.json": {"answers": ANSWERS}, "bad.json": {"answers": {
        **ANSWERS, "B1": ["A", "B"]}}, "later.json": LEVEL_2_FILE},
        ["good.json", "bad.json", "later.json"], None),
    "unknown-set": ({"other.json": {"indicator_set": "nope-2030", "answers": ANSWERS}},
                    ["other.json"], None),
    "english": ({"bad.json": BAD_B5}, ["bad.json"], "en"),
    # the runs rely on an empty cwd: a .env there would be read
    "dotenv": ({".env": "DXBOT_LOCALE=en\n", "bad.json": BAD_B5}, ["bad.json"], None),
}


class Run(NamedTuple):
    returncode: int
    stdout: str
    stderr: str


def write(directory: Path, name: str, content: Any) -> None:
    path = directory / name
    if content is DIRECTORY:
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    elif isinstance(content, str):
        path.write_text(content, encoding="utf-8")
    else:
        path.write_text(json.dumps(content, ensure_ascii=False), encoding="utf-8")


def start(cwd: Path, args: list[str], locale: str | None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DXBOT_")}
    # the command must work from any directory; make the project importable from there
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PROJECT_ROOT),
                                                      env.get("PYTHONPATH")]))
    env["PYTHONIOENCODING"] = "utf-8"
    if locale is not None:
        env["DXBOT_LOCALE"] = locale
    return subprocess.Popen([sys.executable, "-m", "bot.cli", "score", *args], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, encoding="utf-8")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every case of RUNS, each a separate `dxbot score` process in its own empty directory.

    The processes start together (interpreter start-up dominates), then each is awaited.
    """
    started: dict[str, subprocess.Popen[str]] = {}
    try:
        for case, (files, args, locale) in RUNS.items():
            cwd = tmp_path_factory.mktemp(case)
            for name, content in files.items():
                write(cwd, name, content)
            started[case] = start(cwd, args, locale)
        results = {}
        for case, proc in started.items():
            out, err = proc.communicate(timeout=120)
            results[case] = Run(proc.returncode, out, err)
        return results
    finally:
        for proc in started.values():
            if proc.poll() is None:
                proc.kill()
                proc.communicate()


def lines(text: str) -> list[str]:
    return text.splitlines()


def numbers_are_numbers(value: Any, key: str = "") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            numbers_are_numbers(v, k)
    elif isinstance(value, list):
        for item in value:
            numbers_are_numbers(item, key)
    elif key in NUMERIC_KEYS:
        if key == "target" and isinstance(value, str):  # a suggestion's option key or level
            return
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)


# --- valid files --------------------------------------------------------------------------


def test_one_valid_file(runs: dict[str, Run]) -> None:
    run = runs["one-valid"]
    assert run.returncode == 0, run.stderr
    assert run.stderr == ""
    out = lines(run.stdout)
    assert len(out) == 1
    exact = json.loads(out[0], parse_float=Decimal)
    data = json.loads(out[0])
    assert data["file"] == "acme.json"
    assert data["indicator_set"] == "miit-2024"  # omitted: the default set
    assert exact["total"] == Decimal("38.1")
    assert exact["dimensions"] == {"foundation": Decimal("16.35"),
                                   "management": Decimal("8.25"),
                                   "effectiveness": Decimal("13.5")}
    assert list(data["dimensions"]) == ["foundation", "management", "effectiveness"]
    assert [(s["code"], s["level"]) for s in data["scenes"]] == list(SCENES.items())
    assert (data["level"], data["level_name"]) == (1, "一级")
    assert data["next_level"]["level"] == 2
    assert exact["next_level"]["points_missing"] == Decimal("1.9")
    assert data["max_score"] == 100 and isinstance(data["max_score"], int)
    assert isinstance(data["total"], float)
    assert isinstance(data["level"], int)
    for value in data["dimensions"].values():
        assert isinstance(value, int | float) and not isinstance(value, bool)
    numbers_are_numbers(data)
    assert 1 <= len(data["suggestions"]) <= 3


def test_several_files_one_line_each_in_order(runs: dict[str, Run]) -> None:
    run = runs["several-valid"]
    assert run.returncode == 0, run.stderr
    out = [json.loads(line, parse_float=Decimal) for line in lines(run.stdout)]
    assert [(d["file"], d["total"], d["level"], d["level_name"]) for d in out] == [
        ("b-second.json", Decimal("40"), 2, "二级"), ("a-first.json", Decimal("38.1"), 1, "一级"),
        ("c-figures.json", Decimal("37.725"), 1, "一级")]
    assert out[0]["next_level"]["level"] == 3
    assert out[2]["questions"]["B2"] == 3  # derived from the figures: option C
    for line in lines(run.stdout):
        numbers_are_numbers(json.loads(line))


def test_integral_numbers_written_without_fraction(runs: dict[str, Run]) -> None:
    first, _, third = lines(runs["several-valid"].stdout)
    assert '"total": 40,' in first
    assert '"total": 37.725,' in third
    assert '"max_score": 100,' in third
    assert '"B5": 5,' in third  # not 5.0


# --- invalid files ------------------------------------------------------------------------


@pytest.mark.parametrize("kind", [*INVALID, "unreadable"])
def test_invalid_file(runs: dict[str, Run], kind: str) -> None:
    run = runs[f"invalid-{kind}"]
    name = "does-not-exist.json" if kind == "unreadable" else "input.json"
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    err = lines(run.stderr)
    assert len(err) == 1, run.stderr
    assert err[0].startswith(f"{name}: ")
    question = INVALID.get(kind, (None, None))[1]
    if question is not None:
        assert err[0].startswith(f"{name}: {question}：")


def test_unreadable_file_says_so(runs: dict[str, Run]) -> None:
    assert runs["invalid-unreadable"].stderr.startswith("does-not-exist.json: 无法读取文件")


def test_invalid_json_says_where(runs: dict[str, Run]) -> None:
    # Python's json points at the trailing comma from 3.13 on, at the "}" after it before.
    column = 25 if sys.version_info >= (3, 13) else 26
    assert runs["invalid-invalid-json"].stderr.startswith(
        f"input.json: 不是有效的 JSON（第 1 行第 {column} 列）")


@pytest.mark.parametrize("name", list(MORE_INVALID))
def test_more_invalid_kinds_each_file_named(runs: dict[str, Run], name: str) -> None:
    run = runs["more-invalid"]
    assert run.returncode == 2
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    mine = [line for line in lines(run.stderr) if line.startswith(f"{name}: ")]
    assert len(mine) == 1, run.stderr
    question = MORE_INVALID[name][1]
    if question is not None:
        assert question in mine[0]


def test_more_invalid_lines_in_file_order(runs: dict[str, Run]) -> None:
    err = lines(runs["more-invalid"].stderr)
    assert [line.split(": ", 1)[0] for line in err] == list(MORE_INVALID)


def test_every_problem_of_a_file_on_its_own_line(runs: dict[str, Run]) -> None:
    run = runs["many-problems"]
    assert run.returncode == 2
    err = lines(run.stderr)
    assert [line.split(": ", 1)[0] for line in err] == ["many.json"] * 5
    assert [line.split(": ", 1)[1].split("：")[0] for line in err] == ["B1", "B4", "Q7", "M1",
                                                                       "S16"]


def test_valid_file_still_scored_beside_an_invalid_one(runs: dict[str, Run]) -> None:
    run = runs["mixed"]
    assert run.returncode == 2
    assert [json.loads(line)["file"] for line in lines(run.stdout)] == ["good.json",
                                                                        "later.json"]
    err = lines(run.stderr)
    assert len(err) == 1
    assert err[0].startswith("bad.json: B1：")


def test_unknown_indicator_set(runs: dict[str, Run]) -> None:
    run = runs["unknown-set"]
    assert run.returncode == 2
    assert run.stdout == ""
    err = lines(run.stderr)
    assert len(err) == 1
    assert err[0].startswith("other.json: ")
    assert '"nope-2030"' in err[0] and "miit-2024" in err[0]


@pytest.mark.parametrize("case", ["english", "dotenv"])
def test_english_messages(runs: dict[str, Run], case: str) -> None:
    run = runs[case]
    assert run.returncode == 2
    assert run.stderr == "bad.json: B5: single choice, give one option key, not a list\n"
