"""Error types that carry a message a user can act on.

Every error names the file and, where known, the line/row and column, and says
what to do. The Snakemake adapters print `str(error)` as one line instead of a
traceback.
"""

from __future__ import annotations


class CtdnaError(Exception):
    """Base class: an input problem the user can fix."""

    def __reduce__(self):
        # Rebuilt from its message and attributes, not by calling __init__ again (which takes other
        # arguments): an error raised in a worker process (partition.py) reaches the parent whole.
        return _rebuilt, (type(self), self.args, self.__dict__)


def _rebuilt(cls, args, state):
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class InputError(CtdnaError):
    """A table (sample sheet, events, knowledge base, config) is malformed."""

    def __init__(self, path, message, row=None, column=None, hint=None):
        self.path = str(path)
        self.row = row
        self.column = column
        self.hint = hint
        where = self.path
        if row is not None:
            where += f", row {row}"
        if column is not None:
            where += f", column '{column}'"
        text = f"{where}: {message}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class VcfError(CtdnaError):
    """A VCF/BCF cannot be read or has values that would give a wrong number."""

    def __init__(self, path, message, record=None):
        self.path = str(path)
        self.record = record
        where = self.path if record is None else f"{self.path}, record {record}"
        super().__init__(f"{where}: {message}")


class OutputError(CtdnaError):
    """An output cannot be written (disk full, read-only or missing folder); nothing partial is left."""

    def __init__(self, path, message):
        self.path = str(path)
        super().__init__(f"{self.path}: {message}")
