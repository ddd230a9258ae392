"""The one place CSV text cells are made safe to open in a spreadsheet.

A cell that starts with `=`, `+`, `-` or `@` (or a tab or carriage return, which spreadsheets skip
before such a sign) is read as a formula by Excel, LibreOffice and Google Sheets: a model name,
key name, team name or generation id from a team's services could run one on finance's machine
(CSV injection). Every text cell of every CSV Tally writes goes through `csv_text`, which puts a
single quote in front of such a value, as OWASP recommends; numbers Tally formats itself are
written as they are.
"""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_text(value: str | None) -> str:
    """A text value as a CSV cell that no spreadsheet reads as a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text
