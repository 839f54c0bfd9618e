"""Stream a CSV file row by row with physical line numbers, tolerating bad bytes.

Pure Python (no Django). Each line is decoded on its own, so a byte that is not
UTF-8 is reported on its line and the rest of the file is still checked.
"""

from __future__ import annotations

import csv
import gzip
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO


@dataclass
class CsvRow:
    line: int  # physical line where the record starts (1 = header)
    values: list[str]
    bad_encoding: bool = False


@dataclass
class CsvStream:
    """Iterates the data rows of one CSV file after reading its header."""

    path: str
    header: list[str] = field(default_factory=list)
    size: int = 0
    _file: BinaryIO | None = None
    # The file on disk; for a .gz file `_file` reads its decompressed text from it.
    _raw: BinaryIO | None = None
    _bad_lines: set[int] = field(default_factory=set)
    _physical_line: int = 0

    def __enter__(self) -> CsvStream:
        self._raw = open(self.path, "rb")  # closed in __exit__
        info = os.fstat(self._raw.fileno())
        # Pipes and sockets have no size; progress is then counted in rows only.
        self.size = info.st_size if stat.S_ISREG(info.st_mode) else 0
        if self.path.lower().endswith(".gz"):
            # Streamed: gzip decompresses as the lines are read, never the whole file.
            self._file = gzip.GzipFile(fileobj=self._raw, mode="rb")  # type: ignore[assignment]
        else:
            self._file = self._raw
        return self

    def __exit__(self, *exc: object) -> None:
        if self._file is not None and self._file is not self._raw:
            self._file.close()
        if self._raw is not None:
            self._raw.close()

    @property
    def bytes_read(self) -> int:
        """Bytes of the file on disk consumed so far (0 for pipes, which cannot tell)."""
        if self._raw is None or not self.size:
            return 0
        return self._raw.tell()

    def _decoded_lines(self) -> Iterator[str]:
        if self._file is None:
            raise RuntimeError("CsvStream used outside its with-block")
        try:
            yield from self._decode(self._file)
        except (OSError, EOFError) as exc:
            # A .gz file that is not gzip, or was cut short.
            raise MalformedCsv(
                self._physical_line + 1, f"not a readable gzip file ({exc})"
            ) from exc

    def _decode(self, lines: BinaryIO) -> Iterator[str]:
        for raw in lines:
            self._physical_line += 1
            if self._physical_line == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError:
                self._bad_lines.add(self._physical_line)
                yield raw.decode("utf-8", errors="replace")

    def rows(self) -> Iterator[CsvRow]:
        """Yield the header as the first row, then every data row."""
        reader = csv.reader(self._decoded_lines(), strict=True)
        start = 1
        while True:
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                # A broken quote swallows the rest of the file: report and stop.
                raise MalformedCsv(start, str(exc)) from exc
            end = reader.line_num
            bad = any(line in self._bad_lines for line in range(start, end + 1))
            if values or bad:
                yield CsvRow(line=start, values=values, bad_encoding=bad)
            start = end + 1


class MalformedCsv(Exception):
    def __init__(self, line: int, detail: str):
        super().__init__(detail)
        self.line = line
        self.detail = detail
