"""The one zip writer: deterministic bytes (fixed timestamps and permissions), members that
may come already compressed (office files whose members are mostly unchanged), used for Word
documents and for the bundles alike.

``zipfile`` deflates every member on every write; a Word template carries about 800 kB of
styles that never change, so compressing them once per template and copying the compressed
bytes per document is most of the DOCX fast path's speed.
"""

from __future__ import annotations

import datetime as dt
import struct
import zlib
from dataclasses import dataclass

from docgen.clock import source_epoch

_LOCAL = struct.Struct("<4s5H3L2H")
_CENTRAL = struct.Struct("<4s6H3L5H2L")
_END = struct.Struct("<4s4H2LH")
_DEFLATED = 8
_UTF8_NAME = 0x800
_LIMIT = 0xFFFFFFFF  # no zip64: an office document, or a bundle to mail, is far below 4 GB
_UNIX = 3  # "version made by" host: Unix, so unzip applies the permissions given
_DOS_FIRST, _DOS_LAST = dt.datetime(1980, 1, 1), dt.datetime(2107, 12, 31, 23, 59, 58)


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
    """(time, date) of every member: SOURCE_DATE_EPOCH when set (clamped to what a zip can
    hold), else 1980-01-01, so the same inputs give the same bytes."""
    epoch = source_epoch()
    when = min(max(_DOS_FIRST, epoch.replace(tzinfo=None)), _DOS_LAST) if epoch else _DOS_FIRST
    time = (when.hour << 11) | (when.minute << 5) | (when.second // 2)
    date = ((when.year - 1980) << 9) | (when.month << 5) | when.day
    return time, date


def write_zip(members: list[Member], *, unix_mode: int | None = None) -> bytes:
    """The zip file of ``members``, in order, with fixed timestamps; ``unix_mode`` (e.g.
    0o100644) marks the members as Unix files with those permissions, whatever is on disk."""
    time, date = dos_timestamp()
    made_by, attributes = ((_UNIX << 8) | 20, unix_mode << 16) if unix_mode else (20, 0o600 << 16)
    out: list[bytes] = []
    central: list[bytes] = []
    offset = 0
    for m in members:
        flags = _UTF8_NAME if not m.name.isascii() else 0
        header = _LOCAL.pack(b"PK\x03\x04", 20, flags, _DEFLATED, time, date,
                             m.crc, len(m.data), m.size, len(m.name), 0)
        central.append(_CENTRAL.pack(b"PK\x01\x02", made_by, 20, flags, _DEFLATED, time, date,
                                     m.crc, len(m.data), m.size, len(m.name), 0, 0, 0, 0,
                                     attributes, offset) + m.name)
        out += (header, m.name, m.data)
        offset += len(header) + len(m.name) + len(m.data)
    directory = b"".join(central)
    if offset > _LIMIT or len(members) > 0xFFFF:
        raise ValueError("too large for a plain zip (4 GB, 65,535 files)")
    end = _END.pack(b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), offset, 0)
    return b"".join(out) + directory + end
