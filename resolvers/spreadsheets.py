"""What every spreadsheet the server writes shares: each cell holds the text it shows.

A text that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is what a
spreadsheet program takes for a formula (formula injection: a material named
``=HYPERLINK("http://…","x")`` would run in the reader's Excel). Such a text is written as
a text cell (never a formula) with the quote prefix Excel itself sets when a user types a
leading apostrophe, so that editing the cell keeps it text. Numbers and dates stay what
they are. Every export appends its rows through ``append``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from openpyxl.cell import WriteOnlyCell

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(sheet, value: Any) -> Any:
    """``value`` as a write-only sheet's cell: a text that could be read as a formula as a
    quoted text cell, anything else (numbers, a cell made already) as it is."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        quoted = WriteOnlyCell(sheet, value=value)
        quoted.data_type = "s"
        quoted.quotePrefix = True
        return quoted
    return value


def append(sheet, values: Iterable[Any]) -> None:
    """Append a row of ``values`` to a write-only sheet, each through ``cell``."""
    sheet.append([cell(sheet, value) for value in values])
