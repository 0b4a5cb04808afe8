"""Cells of the export's sheets: texts always as text (what people typed is never a formula),
moments as date cells in Beijing time, numbers as they are."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from flows.beijing_time import BEIJING

# Excel has no time zones: a moment is written as the wall-clock time in Beijing, the time
# our users read everywhere else.
_MINUTE_FORMAT, _DAY_FORMAT = "yyyy-mm-dd hh:mm", "yyyy-mm-dd"


def china_time(at: datetime | None) -> datetime | None:
    return None if at is None else at.astimezone(BEIJING).replace(tzinfo=None)


def row_cells(sheet: WriteOnlyWorksheet, values: list[Any], *, bold: bool = False,
           ) -> list[Any]:
    """The row's cells: texts as text, moments as dates; numbers as they are."""
    cells: list[Any] = []
    for value in values:
        if value is None or (isinstance(value, int | float) and not bold):
            cells.append(value)
            continue
        cell = WriteOnlyCell(sheet, value=value)
        if isinstance(value, str):
            # openpyxl makes "=…" a formula and "#N/A" an error; a name such as
            # =HYPERLINK(…) must stay the name. The quote prefix keeps it text when someone
            # edits the cell in Excel or WPS.
            cell.data_type = "s"
            cell.quotePrefix = True
        elif isinstance(value, datetime):
            cell.number_format = _MINUTE_FORMAT
        elif isinstance(value, date):
            cell.number_format = _DAY_FORMAT
        if bold:
            cell.font = Font(bold=True)
        cells.append(cell)
    return cells
