"""Reading a table file that people made in Excel or WPS, for the import commands (the roster,
the solution pool): its rows as text cells, from an .xlsx workbook's first sheet or a .csv in
UTF-8 or GB18030. The checking of the rows is the pure core's."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

MAX_FILE_BYTES = 50 * 1024 * 1024


class UnreadableFile(ValueError):
    """Not a table file we can read; the message says why."""


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # a mobile number stored as a number
    return str(value)


def read_table(path: Path) -> list[Sequence[str]]:
    """The file's rows as text cells: .xlsx (first sheet) or .csv (UTF-8, or GB18030 as Excel
    on Chinese Windows saves it). Raises UnreadableFile (or csv.Error) for anything else."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise UnreadableFile(str(exc)) from None
    if size > MAX_FILE_BYTES:
        raise UnreadableFile(f"larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB")
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            book = load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise UnreadableFile(f"not an Excel workbook ({type(exc).__name__})") from None
        try:
            sheet = book.worksheets[0]
            return [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        finally:
            book.close()  # read-only mode keeps the file open until closed
    if suffix == ".csv":
        raw = path.read_bytes()
        for encoding in ("utf-8-sig", "gb18030"):
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                continue
            return list(csv.reader(io.StringIO(text, newline="")))
        raise UnreadableFile("neither UTF-8 nor GB18030 text")
    raise UnreadableFile("not a .csv or .xlsx file")
