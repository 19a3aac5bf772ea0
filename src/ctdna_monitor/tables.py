"""Strict reading of the workflow's tab-separated tables (sample sheet, events, knowledge base, drug and
cancer-type tables).

A spreadsheet export or a hand edit can make a lenient CSV reader lose rows without a word: a stray
double quote at the start of a field opens a quoted field that swallows every following line, a duplicated
column name lets the last one win, a Latin-1 file turns names into mojibake. Here:

- the file must be UTF-8 (a UTF-8 byte-order mark is allowed); UTF-16 and other encodings are refused with
  the file named and how to re-save it;
- a line is a row: there is no quote processing, except that a field wholly enclosed in one pair of double
  quotes loses the pair (`"FOLFOX + bevacizumab"` as some exports write it); a quote anywhere else is text;
- every row has exactly as many fields as the header (a field with a tab or a line break in it shows up
  as a row with too many or too few fields);
- column names are unique and not empty;
- blank lines and lines starting with `#` are not rows; `#` lines are returned (metadata such as
  `# version: 1.0`).

So the rows read are exactly the data lines of the file. Rows are numbered from 1 (header excluded,
comment and blank lines not counted), as every error message of the package does.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .errors import InputError

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF8_BOM = b"\xef\xbb\xbf"
RESAVE = ("re-save it as UTF-8 tab-separated text (LibreOffice: Save As 'Text CSV', character set 'Unicode "
          "(UTF-8)', field delimiter {{Tab}}), or convert it: iconv -f {source} -t UTF-8 {name} > fixed.tsv")


@dataclass
class Table:
    path: Path
    header: list[str]
    rows: list[dict]  # column -> value (stripped; a whole-field quote pair removed)
    comments: list[str]  # the '#' lines, without the newline
    lines: list[int]  # the file line number of each row (1-based)


def _decode(path: Path, what: str) -> str:
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        raise InputError(path, f"{what} is a directory, not a file", hint="check the path in config/config.yaml") from None
    except OSError as exc:
        raise InputError(path, f"{what} cannot be read ({exc.strerror})", hint="check the file's permissions") from None
    name = path.name
    if data.startswith(UTF16_BOMS) or (b"\x00" in data[:4096] and data.count(b"\x00") > len(data) // 4):
        raise InputError(path, f"{what} is UTF-16 text (an Excel 'Unicode Text' export), not UTF-8",
                         hint=RESAVE.format(source="UTF-16", name=name))  # fmt: skip
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM):]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            path,
            f"{what} is not UTF-8 (byte 0x{data[exc.start]:02x} on line {line}; probably Latin-1/Windows-1252)",
            hint=RESAVE.format(source="WINDOWS-1252", name=name),
        ) from None


def _field(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == '"' and '"' not in value[1:-1]:
        return value[1:-1].strip()
    return value


def read_table(path, what: str) -> Table:
    """The table at `path` read strictly (see the module docstring); InputError naming the file, the row
    and what to do on any problem."""
    path = Path(path)
    if not path.exists():
        raise InputError(path, f"{what} not found", hint="check the path in config/config.yaml")
    text = _decode(path, what)
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    header, rows, comments, numbers = None, [], [], []
    for number, raw in enumerate(lines, start=1):
        line = raw[:-1] if raw.endswith("\r") else raw
        if line.startswith("#"):
            comments.append(line)
            continue
        if not line.strip():
            continue
        if "\r" in line:
            raise InputError(path, f"line {number} contains a carriage return inside a field",
                             hint="save the file with Unix (LF) or Windows (CRLF) line ends, not old Mac (CR)")  # fmt: skip
        fields = line.split("\t")
        if header is None:
            header = _header(path, what, fields)
            continue
        row = len(rows) + 1
        if len(fields) != len(header):
            raise InputError(
                path,
                f"line {number} has {len(fields)} fields, the header has {len(header)}",
                row=row,
                hint="a value with a tab or a line break in it, or a missing tab; each row must be one line "
                "with one tab between fields",
            )
        if '"' in line:
            rows.append({name: _field(value) for name, value in zip(header, fields)})
        else:  # (no quote pair to remove: the common case, without a call per field)
            rows.append({name: value.strip() for name, value in zip(header, fields)})
        numbers.append(number)
    if header is None:
        raise InputError(path, f"{what} is empty", hint="it needs a header line and one row per entry")
    return Table(path, header, rows, comments, numbers)


def _header(path, what, fields) -> list[str]:
    names = [_field(name) for name in fields]
    if len(names) < 2:
        raise InputError(path, f"{what} is not tab-separated", hint="separate columns with tabs")
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            raise InputError(path, f"header column {position} has no name", hint="name every column, or delete the empty one (a stray tab?)")  # fmt: skip
        if name in seen:
            raise InputError(path, f"column '{name}' appears twice in the header (columns {seen[name]} and {position})",
                             column=name, hint="keep one of them: the values of the other would be lost")  # fmt: skip
        seen[name] = position
    return names
