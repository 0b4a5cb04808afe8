"""`dxbot score FILE...`: score answer files offline, one JSON line per file.

Each file is `{"indicator_set": "miit-2024", "answers": {...}, "figures": {...}}`; the indicator
set and figures are optional. Problems go to stderr, one line each naming the file and the
question, and make the exit status 2; valid files are still scored.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from flows.answers import check_answers
from flows.i18n import Translator
from flows.indicators import DEFAULT_SET_ID, IndicatorSet
from flows.results import assessment_data, json_default
from flows.scoring import assess

EXIT_INVALID = 2


class _InputError(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _InputError(f"{name} is not a number")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _InputError(f"'{key}' appears twice")
        result[key] = value
    return result


def _read(path: Path, tr: Translator) -> Any:
    _ = tr.gettext
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise _InputError(_("cannot read the file: {reason}").format(
            reason=getattr(exc, "strerror", None) or exc)) from exc
    try:
        return json.loads(text, parse_float=Decimal, parse_constant=_reject_constant,
                          object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        raise _InputError(_("not valid JSON (line {line}, column {column}): {reason}").format(
            line=exc.lineno, column=exc.colno, reason=exc.msg)) from exc
    except _InputError as exc:
        raise _InputError(_("not valid JSON: {reason}").format(reason=exc)) from exc


def score_file(path: Path, sets: Mapping[str, IndicatorSet], tr: Translator,
               ) -> tuple[dict[str, Any] | None, list[str]]:
    """The result for one file, or the problems (already rendered) that prevent it."""
    _ = tr.gettext
    try:
        data = _read(path, tr)
    except _InputError as exc:
        return None, [str(exc)]
    if not isinstance(data, dict) or not isinstance(data.get("answers"), dict):
        return None, [_("expected an object with \"answers\": {{question code: answer}}")]
    unknown = sorted(set(data) - {"indicator_set", "answers", "figures"})
    if unknown:
        return None, [_("unknown field \"{field}\" (expected indicator_set, answers, figures)")
                      .format(field=unknown[0])]
    set_id = data.get("indicator_set", DEFAULT_SET_ID)
    iset = sets.get(set_id) if isinstance(set_id, str) else None
    if iset is None:
        return None, [_("unknown indicator set {name} (known: {known})").format(
            name=json.dumps(set_id, ensure_ascii=False), known=", ".join(sorted(sets)))]
    figures = data.get("figures", {})
    if not isinstance(figures, dict):
        return None, [_("\"figures\" must be an object of figure name to number")]
    answers, _figures, problems = check_answers(iset, data["answers"], figures)
    if problems:
        return None, [p.render(tr) for p in problems]
    return assessment_data(iset, assess(iset, answers), tr), []


def run(paths: Iterable[Path], sets: Mapping[str, IndicatorSet], tr: Translator,
        out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    status = 0
    for path in paths:
        result, problems = score_file(path, sets, tr)
        for problem in problems:
            print(f"{path}: {problem}", file=err)
        if result is None:
            status = EXIT_INVALID
        else:
            line = json.dumps({"file": str(path), **result}, ensure_ascii=False,
                              default=json_default)
            print(line, file=out)
    return status
