"""Gettext catalogues in plain Python: read a `.po` file, write the `.mo` Django loads.

`compile_translations` uses this so that a fresh clone needs no GNU gettext tools to
run in German (Django's `compilemessages` calls `msgfmt`). The parser reads what
`makemessages` writes: comments and flags, `msgctxt`, `msgid`, `msgid_plural`,
`msgstr` / `msgstr[n]`, strings continued over several lines, obsolete `#~` entries.
Like `msgfmt`, the `.mo` leaves out fuzzy and untranslated entries.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable
from dataclasses import dataclass, field

MO_MAGIC = 0x950412DE
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "b": "\b"}
_KEYWORD = re.compile(r"^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?)\s+(\".*\")\s*$")


class CatalogueError(ValueError):
    """A `.po` file that cannot be read, with the line it failed on."""

    def __init__(self, message: str, line: int):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass
class Entry:
    msgid: str = ""
    msgid_plural: str | None = None
    msgctxt: str | None = None
    # One string, or one per plural form (msgstr[0], msgstr[1] ...).
    msgstr: list[str] = field(default_factory=list)
    flags: set[str] = field(default_factory=set)
    references: list[str] = field(default_factory=list)
    obsolete: bool = False
    line: int = 0

    @property
    def fuzzy(self) -> bool:
        return "fuzzy" in self.flags

    @property
    def translated(self) -> bool:
        return bool(self.msgstr) and all(self.msgstr)

    @property
    def key(self) -> tuple[str | None, str]:
        return (self.msgctxt, self.msgid)


def _unquote(quoted: str, line: int) -> str:
    if len(quoted) < 2 or quoted[0] != '"' or quoted[-1] != '"':
        raise CatalogueError(f"expected a quoted string, got {quoted!r}", line)
    body, out, i = quoted[1:-1], [], 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            if i + 1 >= len(body) or body[i + 1] not in _ESCAPES:
                raise CatalogueError(f"unknown escape in {quoted!r}", line)
            out.append(_ESCAPES[body[i + 1]])
            i += 2
            continue
        if char == '"':
            raise CatalogueError(f"unescaped quote in {quoted!r}", line)
        out.append(char)
        i += 1
    return "".join(out)


def parse_po(text: str) -> list[Entry]:
    """Every entry of a `.po` file's text, the header (msgid "") included."""
    entries: list[Entry] = []
    entry = Entry()
    started = False
    # The field the last string went to, for continuation lines: (name, plural index).
    target: tuple[str, int] | None = None

    def finish() -> None:
        nonlocal entry, started, target
        if started:
            entries.append(entry)
        entry, started, target = Entry(), False, None

    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        obsolete = line.startswith("#~")
        if obsolete:
            line = line[2:].strip()
            if line.startswith("|"):  # previous-value comment of an obsolete entry
                continue
        if not line:
            finish()
            continue
        if line.startswith("#"):
            if started and target is not None and target[0] == "msgstr":
                finish()  # a comment after a complete entry starts the next one
            if line.startswith("#,"):
                entry.flags.update(f.strip() for f in line[2:].split(",") if f.strip())
            elif line.startswith("#:"):
                entry.references.extend(line[2:].split())
            continue
        if line.startswith('"'):
            if target is None:
                raise CatalogueError("a string continues no keyword", number)
            _append(entry, target, _unquote(line, number))
            continue
        match = _KEYWORD.match(line)
        if match is None:
            raise CatalogueError(f"cannot read {raw!r}", number)
        keyword, index, quoted = match.group(1), match.group(2), match.group(3)
        if keyword in ("msgctxt", "msgid") and target is not None and target[0] == "msgstr":
            finish()
        if not started:
            entry.line = number
        started = True
        entry.obsolete = entry.obsolete or obsolete
        value = _unquote(quoted, number)
        if keyword == "msgctxt":
            entry.msgctxt, target = value, ("msgctxt", 0)
        elif keyword == "msgid":
            entry.msgid, target = value, ("msgid", 0)
        elif keyword == "msgid_plural":
            entry.msgid_plural, target = value, ("msgid_plural", 0)
        else:
            position = int(index) if index is not None else 0
            if position != len(entry.msgstr):
                raise CatalogueError(f"msgstr[{position}] out of order", number)
            entry.msgstr.append(value)
            target = ("msgstr", position)
    finish()
    return entries


def _append(entry: Entry, target: tuple[str, int], value: str) -> None:
    name, position = target
    if name == "msgctxt":
        entry.msgctxt = (entry.msgctxt or "") + value
    elif name == "msgid":
        entry.msgid += value
    elif name == "msgid_plural":
        entry.msgid_plural = (entry.msgid_plural or "") + value
    else:
        entry.msgstr[position] += value


def mo_bytes(entries: Iterable[Entry]) -> bytes:
    """The binary `.mo` catalogue of the translated, non-fuzzy, current entries.

    The header (msgid "") is kept even when makemessages left it marked fuzzy: it
    carries the charset and the plural rule, without which plurals fall back to English.
    """
    pairs: dict[bytes, bytes] = {}
    for entry in entries:
        if entry.obsolete:
            continue
        is_header = entry.msgid == "" and entry.msgctxt is None
        if not is_header and (entry.fuzzy or not entry.translated):
            continue
        if is_header:
            # As msgfmt does: the extraction time would make every build differ.
            lines = entry.msgstr[0].splitlines(keepends=True)
            header = "".join(li for li in lines if not li.startswith("POT-Creation-Date:"))
            pairs[b""] = header.encode()
            continue
        key = entry.msgid
        if entry.msgid_plural is not None:
            key += "\0" + entry.msgid_plural
        if entry.msgctxt is not None:
            key = entry.msgctxt + "\x04" + key
        pairs[key.encode()] = "\0".join(entry.msgstr).encode()
    keys = sorted(pairs)
    count = len(keys)
    header_size = 7 * 4
    originals_at = header_size
    translations_at = originals_at + count * 8
    data_at = translations_at + count * 8
    originals: list[tuple[int, int]] = []
    translations: list[tuple[int, int]] = []
    data = bytearray()
    for original in keys:
        originals.append((len(original), data_at + len(data)))
        data += original + b"\0"
    for original in keys:
        value = pairs[original]
        translations.append((len(value), data_at + len(data)))
        data += value + b"\0"
    out = bytearray(struct.pack("<7I", MO_MAGIC, 0, count, originals_at, translations_at, 0, 0))
    for length, offset in originals + translations:
        out += struct.pack("<2I", length, offset)
    return bytes(out + data)
