"""Bytes to text: a file or a pipe opened, gunzipped, checked for binary, decoded, cut into blocks.

Every CSV input starts here.  The bytes come from a path or standard input (a pipe, or what a person
types at a terminal), gunzipped when they start with gzip's magic.  Spreadsheets, archives and other
files that are no text at all are refused by their first bytes, with what to do instead.

The input is handed on in blocks of whole lines (BLOCK bytes, then on to a line end), so that memory
holds the numbers and one block of text, never the whole file; UTF-16 and CR-only line ends, which
cannot be cut so, are decoded whole.  A block is decoded only when its text is asked for, and a byte
that does not decode is reported at its line once the lines before it are read: the first problem in
the file is the one reported, wherever the blocks begin.  The lines that carry data (not blank, not
a '#' comment) are found here too, for the sniffer and the readers.
"""

from __future__ import annotations

import codecs
import gzip
import io
import os
import sys
import zlib
from contextlib import contextmanager

from fitbp.errors import FitbpError, at, option

BLOCK = 1 << 22
"""Bytes read at a time (4 MiB, then on to a line end): big enough for a C parser
to run at full speed, small next to the arrays the numbers fill."""
SNIFF_LINES = 20
"""Data lines the first block holds at least: what the sniffer (fitbp.sources.sniff) looks at."""


@contextmanager
def opened(source, name, stdin):
    """A binary stream of the input, gunzipped when it starts with gzip's magic."""
    if str(source) == "-":
        raw = stdin if stdin is not None else getattr(sys.stdin, "buffer", None)
        if raw is None:
            raise FitbpError("standard input is closed")
        if _is_terminal(raw):
            yield io.BytesIO(_typed(raw))
            return
        owned = None
    else:
        try:
            raw = owned = open(source, "rb")  # noqa: SIM115 (closed below, also on errors)
        except FileNotFoundError:
            raise at(name, None, "no such file") from None
        except IsADirectoryError:
            raise at(name, None, "is a directory, not a CSV file") from None
        except PermissionError:
            raise at(name, None, "permission denied") from None
        except OSError as e:
            raise at(name, None, f"cannot read: {e.strerror or e}") from None
    try:
        magic = _read(raw, name, 2)
        if owned is not None and owned.seekable():
            owned.seek(0)
            stream = owned
        else:  # a pipe: what was read cannot be read again, so it is put in front
            stream = io.BufferedReader(_Rejoined(magic, raw), BLOCK)
        yield gzip.GzipFile(fileobj=stream, mode="rb") if magic == b"\x1f\x8b" else stream
    finally:
        if owned is not None:
            owned.close()


def _is_terminal(stream):
    try:
        return stream.isatty()
    except (AttributeError, ValueError, OSError):
        return False


def _typed(stream):
    """What a person types until the first Ctrl-D at the start of a line.

    A terminal's end of input is not lasting: a buffered reader that asks again after it waits for
    another Ctrl-D, so the lines are read from the descriptor, and the first empty read ends them.
    """
    chunks = []
    while chunk := os.read(stream.fileno(), 65536):
        chunks.append(chunk)
    return b"".join(chunks)


class _Rejoined(io.RawIOBase):
    """The few bytes already read from a stream, then the rest of it."""

    def __init__(self, first, rest):
        self.first, self.rest = first, rest

    def readable(self):
        return True

    def readinto(self, buffer):
        if self.first:
            count = min(len(buffer), len(self.first))
            buffer[:count], self.first = self.first[:count], self.first[count:]
            return count
        data = self.rest.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)


def _read(stream, name, size):
    """Up to ``size`` bytes (all with -1), extended to the end of the line they stop in."""
    try:
        data = stream.read(size)
        if size > 2 and data and not data.endswith(b"\n"):
            data += stream.readline()
    except (EOFError, zlib.error, gzip.BadGzipFile) as e:
        raise at(name, None, f"not a readable gzip file ({e})") from None
    except IsADirectoryError:
        raise at(name, None, "is a directory, not a CSV file") from None
    except OSError as e:
        if isinstance(stream, gzip.GzipFile):
            raise at(name, None, f"not a readable gzip file ({e})") from None
        raise at(name, None, f"cannot read: {e.strerror or e}") from None
    return data


def blocks(stream, name, encoding):
    """The input as Blocks of whole lines; the first holds at least SNIFF_LINES data lines.

    Only the first block knows its first line's number; the reader numbers the others.

    UTF-8 and the single-byte encodings are read a block at a time.  Other
    encodings (UTF-16, or CR-only line ends) are read and decoded whole.
    """
    head = _read(stream, name, BLOCK)
    if not splittable(head, encoding):
        yield Block(name, 1, text=_whole_text(head + _read(stream, name, -1), name, encoding))
        return
    _check_bytes(head, name, encoding)
    codec = codecs.lookup(encoding).name
    if codec == "utf-8-sig":
        codec, head = "utf-8", head.removeprefix(codecs.BOM_UTF8)
    block = Block(name, 1, head, codec)
    while len(first_lines(block.text)) < SNIFF_LINES and block.error is None and (more := _read(stream, name, BLOCK)):
        block = Block(name, 1, block.data + more, codec)
    yield block
    while data := _read(stream, name, BLOCK):
        yield Block(name, None, data, codec)


def splittable(head, encoding):
    """Whether a file whose first bytes are ``head`` can be cut at its newlines into pieces that each
    decode alone (what reader.read_piece reads): not UTF-16, not CR-only line ends, a byte-per-ASCII encoding."""
    return _streamable(encoding) and head[:2] not in (b"\xff\xfe", b"\xfe\xff") and not (
        b"\r" in head and b"\n" not in head)


def _streamable(encoding):
    """Whether every byte below 0x80 is the ASCII character, so blocks can be cut at newlines."""
    try:
        codec = codecs.lookup(encoding).name
    except LookupError:
        return False
    return codec in ("utf-8", "utf-8-sig", "ascii", "latin-1") or codec.startswith(("iso8859", "cp125"))


class Block:
    """Whole lines of the input from line ``first`` on: bytes as read, text once decoded."""

    def __init__(self, name, first, data=None, codec=None, text=None):
        self.name, self.first, self.data, self.codec, self._text = name, first, data, codec, text
        self.error = None

    @property
    def text(self):
        """The lines as text.  Where a byte does not decode, only the lines before its line, and
        ``error`` holds the problem: raised once those lines are read, so that the first problem
        in the file is the one reported, wherever the blocks begin."""
        if self._text is None:
            try:
                self._text = self.data.decode(self.codec)
            except UnicodeDecodeError as e:
                self._text = self.data[:self.data.rfind(b"\n", 0, e.start) + 1].decode(self.codec)
                self.error = _undecodable(self.name, self.data, e, self.codec, self.first)
        return self._text

    def newlines(self):
        return self.data.count(b"\n") if self.data is not None else self.text.count("\n")

    def ascii(self):
        """The block's bytes when all are ASCII (what a C number parser can take), else None."""
        if self.data is not None:
            return self.data if self.data.isascii() else None
        return self.text.encode("ascii") if self.text.isascii() else None

    def after(self, line):
        """The rest of this block after line ``line``."""
        skip = line - self.first + 1
        if skip <= 0:
            return self
        whole, newline = (self.data, b"\n") if self.data is not None else (self.text, "\n")
        pos = 0
        for _ in range(skip):
            pos = whole.find(newline, pos) + 1
            if pos == 0:
                pos = len(whole)
                break
        rest = whole[pos:]
        return Block(self.name, line + 1, rest, self.codec) if self.data is not None else Block(
            self.name, line + 1, text=rest)


def read_text(source, name, encoding, stdin):
    """The whole input as text, for the short inputs that predict reads."""
    with opened(source, name, stdin) as stream:
        return _whole_text(_read(stream, name, -1), name, encoding)


def _whole_text(data, name, encoding):
    text = _decode(data, name, encoding)
    if "\r" in text and "\n" not in text:
        text = text.replace("\r", "\n")  # classic Mac line ends
    return text


def _decode(data, name, encoding):
    """Text from bytes, or the error naming the line of the first byte that is not."""
    encoding = _check_bytes(data, name, encoding)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as e:
        raise _undecodable(name, data, e, encoding) from None
    except UnicodeError as e:  # codecs such as 'undefined' or 'punycode' fail their own way
        raise at(name, None, f"cannot decode as {encoding}: {e}") from None


SIGNATURES = [
    (b"PK\x03\x04", "a zip archive, such as an .xlsx or .ods spreadsheet: save the sheet as CSV (or unzip it) first"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) workbook: save the sheet as CSV first"),
    (b"PAR1", "a Parquet file: pass its path instead, since Parquet is read from its end"),
    (b"%PDF-", "a PDF document, not CSV text"),
    (b"\x89PNG", "a PNG picture, not CSV text"),
    (b"\xff\xd8\xff", "a JPEG picture, not CSV text"),
    (b"BZh", "a bzip2 archive: decompress it first (fitbp reads gzip by itself)"),
    (b"\xfd7zXZ\x00", "an xz archive: decompress it first (fitbp reads gzip by itself)"),
    (b"\x28\xb5\x2f\xfd", "a zstd archive: decompress it first (fitbp reads gzip by itself)"),
    (b"SQLite format 3\x00", "an SQLite database: export the table as CSV first"),
]
"""Files people pass for data that are no text at all, by the bytes they start with."""


def looks_like_text(data, encoding):
    """Whether ``data`` reads as text in ``encoding`` (or UTF-8): no NUL byte, and it decodes."""
    if b"\x00" in data:
        return False
    for codec in dict.fromkeys((encoding, "utf-8")):
        try:
            data.decode(codec)
            return True
        except UnicodeDecodeError as e:
            if e.start >= len(data) - 3:  # only a character cut at the end
                return True
        except (LookupError, UnicodeError):
            continue
    return False


def _check_bytes(data, name, encoding):
    """The encoding to decode ``data`` with (a UTF-16 BOM overrides the given one), or the error
    that no decoding can mend: a spreadsheet, archive or other known binary file, binary data, an
    unknown encoding."""
    for signature, what in SIGNATURES:
        if data.startswith(signature) and not looks_like_text(data[:4096], encoding):  # a column named PAR1 is fine
            raise at(name, None, f"this is {what}")
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return check_encoding("utf-16")  # its BOM says so; spreadsheets on Windows write it
    if b"\x00" in data[:8192] and _is_utf8(encoding):
        raise at(name, None, "binary data, not CSV text (if it is UTF-16 without a BOM, pass "
                 f"{option('encoding', 'utf-16-le')})")
    return check_encoding(encoding)


def _undecodable(name, data, error, encoding, first=1):
    line = first + data.count(b"\n", 0, error.start)
    shown = "UTF-8" if _is_utf8(encoding) else encoding
    return at(name, line, f"not {shown} text (byte 0x{data[error.start]:02x}); "
              f"if it is Latin-1, pass {option('encoding', 'latin-1')}")


def _is_utf8(encoding):
    return encoding.lower().replace("_", "-") in ("utf-8-sig", "utf-8", "utf8")


def check_encoding(encoding):
    """The name of a text encoding Python knows, or a FitbpError."""
    try:
        text_encoding = getattr(codecs.lookup(encoding), "_is_text_encoding", True)
    except LookupError:
        text_encoding = False
    if not text_encoding:  # 'rot13' and 'hex' are codecs, but not of bytes to text
        raise FitbpError(f"unknown encoding {encoding!r}")
    return encoding


def lines(text, first=1):
    """(line number, line) for the lines of ``text`` that carry data; its first line is ``first``.

    Blank lines and lines starting with '#' are skipped; CR before LF is dropped.
    A generator, so that looking at the top of a large file does not split all of it.
    """
    pos, number = 0, first
    while pos >= 0:
        end = text.find("\n", pos)
        line = text[pos:] if end < 0 else text[pos:end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, line.rstrip("\r")
        pos = -1 if end < 0 else end + 1
        number += 1


def first_lines(text):
    sample = []
    for item in lines(text):
        sample.append(item)
        if len(sample) == SNIFF_LINES:
            break
    return sample
