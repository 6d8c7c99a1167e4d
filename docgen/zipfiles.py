"""A minimal, deterministic zip writer for office files whose members are mostly unchanged.

``zipfile`` deflates every member on every write; a Word template carries about 800 kB of
styles that never change, so compressing them once per template and copying the compressed
bytes per document is most of the DOCX fast path's speed.
"""

from __future__ import annotations

import datetime as dt
import os
import struct
import zlib
from dataclasses import dataclass

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_DEFLATED = 8
_UTF8_NAME = 0x800
_LIMIT = 0xFFFFFFFF  # no zip64: an office document is far below 4 GB


@dataclass(frozen=True)
class Member:
    """One zip member, already compressed (raw deflate)."""

    name: bytes
    crc: int
    size: int
    data: bytes

    @classmethod
    def deflate(cls, name: str, content: bytes) -> Member:
        # Level 6 is zlib's default, as zipfile uses: similar size to what Word writes.
        packer = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = packer.compress(content) + packer.flush()
        return cls(name.encode("utf-8"), zlib.crc32(content), len(content), data)


def dos_timestamp() -> tuple[int, int]:
    """(time, date) of every member: SOURCE_DATE_EPOCH when set, else 1980-01-01, so the
    same inputs give the same bytes."""
    when = dt.datetime(1980, 1, 1)
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if epoch.isdigit():
        when = max(when, dt.datetime.fromtimestamp(int(epoch), dt.UTC).replace(tzinfo=None))
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    return time, date


def write_zip(members: list[Member]) -> bytes:
    """The zip file of ``members``, in order, with fixed timestamps."""
    time, date = dos_timestamp()
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        flags = _UTF8_NAME if not m.name.isascii() else 0
        header = _LOCAL.pack(b"PK\x03\x04", 20, flags, _DEFLATED, time, date,
                             m.crc, len(m.data), m.size, len(m.name), 0)
        central.append(_CENTRAL.pack(b"PK\x01\x02", 20, 20, flags, _DEFLATED, time, date,
                                     m.crc, len(m.data), m.size, len(m.name), 0, 0, 0, 0,
                                     0o600 << 16, offset) + m.name)
        out += (header, m.name, m.data)
        offset += len(header) + len(m.name) + len(m.data)
    directory = b"".join(central)
    if offset > _LIMIT or len(members) > 0xFFFF:
        raise ValueError("document too large for a plain zip")
    end = _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end
