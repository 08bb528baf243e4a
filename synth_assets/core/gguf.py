"""A GGUF model file's header, read and checked without loading the model.

The layout (https://github.com/ggml-org/ggml/blob/master/docs/gguf.md, versions 2 and 3, little-endian):
magic `GGUF`, version (uint32), tensor count and metadata key/value count (uint64), then each key
(a string) with its value type (uint32) and value, then each tensor's name, dimensions, type and
offset. `read_header` walks all of it and checks every length against the file size, so a
zeroed, truncated or overwritten header is refused in well under a second.
"""

from __future__ import annotations

import functools
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

MAGIC = b"GGUF"
VERSIONS = (2, 3)
_SCALAR = {0: "<B", 1: "<b", 2: "<H", 3: "<h", 4: "<I", 5: "<i", 6: "<f", 7: "<?", 10: "<Q", 11: "<q", 12: "<d"}
STRING, ARRAY = 8, 9
MAX_TENSORS, MAX_KEYS, MAX_DIMS = 1_000_000, 100_000, 4  # llama.cpp's GGML_MAX_DIMS is 4
REQUIRED_KEYS = ("general.architecture",)


class GGUFError(ValueError):
    """The file is no usable GGUF model; the message says what is wrong and where (byte offset)."""


@dataclass(frozen=True)
class Header:
    version: int
    tensors: int
    metadata: dict[str, Any]  # scalars and strings as read; arrays as their length


class _Reader:
    """Reads the file from its start through a growing in-memory buffer (the header is a few MB at most)."""

    def __init__(self, handle: BinaryIO, size: int):
        self.handle, self.size, self.buffer, self.at = handle, size, b"", 0

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.at + n > self.size:
            raise GGUFError(f"{what} at byte {self.at} needs {n} bytes, past the end of the {self.size}-byte file")
        if self.at + n > len(self.buffer):
            self.buffer += self.handle.read(max(self.at + n - len(self.buffer), len(self.buffer), 1 << 16))
        data, self.at = self.buffer[self.at:self.at + n], self.at + n
        return data

    def skip(self, n: int, what: str) -> None:
        if self.at + n > self.size:
            raise GGUFError(f"{what}: {n} bytes at byte {self.at}, past the end of the {self.size}-byte file")
        self.take(n, what)

    def unpack(self, fmt: str, what: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt), what))[0]

    def string(self, what: str) -> str:
        data = self.take(self.unpack("<Q", f"{what} length"), what)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise GGUFError(f"{what} ending at byte {self.at} is not UTF-8") from None

    def value(self, kind: int, what: str) -> Any:
        if kind in _SCALAR:
            return self.unpack(_SCALAR[kind], what)
        if kind == STRING:
            return self.string(what)
        if kind == ARRAY:
            item, count = self.unpack("<I", f"{what} item type"), self.unpack("<Q", f"{what} length")
            if item in _SCALAR:  # fixed-size items: skip them, after checking they fit
                self.skip(count * struct.calcsize(_SCALAR[item]), what)
            elif item == STRING:
                for _ in range(count):
                    self.take(self.unpack("<Q", f"{what} item length"), what)
            else:
                raise GGUFError(f"{what}: unknown array item type {item}")
            return count
        raise GGUFError(f"{what}: unknown value type {kind}")


def read_header(path: str | Path) -> Header:
    """The header of a GGUF file, every key/value and tensor description checked (GGUFError when it is no model)."""
    stat = Path(path).stat()
    return _read_header(str(path), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _read_header(path: str, mtime_ns: int, size: int) -> Header:
    with open(path, "rb") as handle:
        r = _Reader(handle, size)
        magic = r.take(4, "magic")
        if magic != MAGIC:
            raise GGUFError(f"not a GGUF model file (starts with {magic!r}, expected {MAGIC!r})")
        version = r.unpack("<I", "version")
        if version not in VERSIONS:
            raise GGUFError(f"GGUF version {version} at byte 4 is not one llama.cpp reads ({', '.join(map(str, VERSIONS))}): "
                            "the header is damaged")
        tensors, keys = r.unpack("<Q", "tensor count"), r.unpack("<Q", "metadata count")
        if not 0 < tensors <= MAX_TENSORS or not 0 < keys <= MAX_KEYS:
            raise GGUFError(f"{tensors} tensors and {keys} metadata keys (bytes 8-23) are no model's: the header is damaged")
        metadata = {}
        for i in range(keys):
            key = r.string(f"metadata key {i}")
            metadata[key] = r.value(r.unpack("<I", f"type of {key!r}"), f"value of {key!r}")
        missing = [k for k in REQUIRED_KEYS if k not in metadata]
        if missing:
            raise GGUFError(f"metadata lacks {', '.join(missing)}: the header is damaged")
        for i in range(tensors):
            name = r.string(f"tensor {i} name")
            dims = r.unpack("<I", f"tensor {name!r} dimensions")
            if not 0 < dims <= MAX_DIMS:
                raise GGUFError(f"tensor {name!r} has {dims} dimensions: the header is damaged")
            r.take(8 * dims + 4 + 8, f"tensor {name!r} shape, type and offset")
        return Header(version, tensors, metadata)
