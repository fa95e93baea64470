"""User-facing errors: the CLI prints them as one line and exits with code 2."""

from __future__ import annotations


class LiqSignalsError(Exception):
    """An error caused by the user's input (file, config, argument), with a one-line message."""


class InputFileError(LiqSignalsError):
    """A data file that cannot be loaded; names the file, row (1-based, data rows) and field when known."""

    def __init__(self, file: str, message: str, row: int | None = None, field: str | None = None):
        self.file, self.row, self.field = file, row, field
        where = file
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class ConfigError(LiqSignalsError):
    """An invalid configuration value; the message names the field."""
