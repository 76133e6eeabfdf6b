"""Unpack an uploaded zip into a folder, safely and within caps (no Django here).

:func:`extract_zip` refuses the whole zip, with ``UploadRefused`` naming the
parameter (``file: ...``) and leaving nothing on disk, when:

* the zip's central directory declares more than ``max_entries`` entries (read
  from its end record before the entries are parsed, so a zip of millions of
  empty entries costs no memory), or holds more entries than that;
* an entry has an absolute path, a ``..`` part, a backslash or a control
  character, is a link, is nested deeper than one folder, sits in another
  folder than the other files, is not a FORMAT.md file name (``deals.csv``,
  ``touches.parquet``...; for ``kind="csv"``: does not end in ``.csv``), or
  appears twice (for ``kind="csv"``: names equal but for case, which one
  file system would merge);
* the files add up to more than ``max_total_bytes``: first as the headers
  declare them, then as they really unpack (counted while writing, never
  trusted from the header);
* an entry does not unpack to what its header says: its data is longer or
  shorter than the size declared, or its checksum differs (a crafted or
  damaged zip; Python's ``zipfile`` stops at the declared size, and the
  checksum of what it read then fails), or it is encrypted, or compressed in
  a way ``zipfile`` cannot read.

``__MACOSX/`` entries and ``.DS_Store`` are skipped. The folder is created
0700 and each file 0600 (:mod:`bestby.private`); on any refusal or error the
folder is removed again.
"""

from __future__ import annotations

import re
import shutil
import stat
import struct
import zipfile
import zlib
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from bestby.format import SPECS
from bestby.private import open_private, private_dir

KNOWN = {f"{name}.{ext}" for name in SPECS for ext in ("csv", "parquet")}
CHUNK = 1 << 20
#: the most entries a zip may hold: a FORMAT.md folder has 14 files, a CRM export a few dozen
MAX_ENTRIES = 1000
#: the smallest central directory record (APPNOTE 4.3.12): 46 bytes and the name; a directory larger than
#: MAX_ENTRIES records with names of this many bytes declares too many entries
_CD_RECORD_MAX = 46 + 1024


class UploadRefused(ValueError):
    """The upload cannot be taken safely; the message names the parameter (``file``, ``source``...)."""


def _mb(n: int) -> str:
    return f"{n / 2**20:,.0f} MB" if n >= 2**20 else f"{n:,} bytes"


def _end_record(fp: BinaryIO) -> tuple[int, int] | None:
    """(entries, central directory size) from the zip's end record (APPNOTE 4.3.16), or None when not found.

    Read before ``zipfile`` parses the central directory, which builds one object per entry. A zip64
    record (sizes set to all ones) answers None: the count after parsing still applies.
    """
    fp.seek(0, 2)
    size = fp.tell()
    tail_len = min(size, 22 + 65535)  # the record is 22 bytes, followed by a comment of up to 64 KiB
    fp.seek(size - tail_len)
    tail = fp.read(tail_len)
    fp.seek(0)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) - at < 22:
        return None
    entries, cd_size = struct.unpack("<HI", tail[at + 10:at + 16])
    if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
        return None
    return entries, cd_size


def zip_entries(archive: zipfile.ZipFile, kind: str = "format", *, max_total_bytes: int,
                max_entries: int = MAX_ENTRIES) -> list[tuple[zipfile.ZipInfo, str]]:
    """The entries to unpack with their target file names; raise UploadRefused on any unsafe or unknown entry.

    ``kind`` is ``format`` (FORMAT.md file names only) or ``csv`` (a CRM
    export: any name ending in ``.csv``).
    """
    infos = archive.infolist()
    if len(infos) > max_entries:
        raise UploadRefused(f"file: the zip holds {len(infos):,} entries; at most {max_entries:,} are taken")
    chosen: dict[str, tuple[zipfile.ZipInfo, str]] = {}
    declared, top = 0, ""
    for info in infos:
        name = info.filename
        if "\\" in name or name.startswith("/") or re.match(r"^[A-Za-z]:", name):
            raise UploadRefused(f"file: {name!r} has an absolute or Windows path; refused")
        if any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            raise UploadRefused(f"file: {name!r} has a control character in its name; refused")
        parts = PurePosixPath(name).parts
        if ".." in parts:
            raise UploadRefused(f"file: {name!r} points outside the upload folder ('..'); refused")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise UploadRefused(f"file: {name!r} is a link; refused")
        if info.is_dir() or (parts and parts[0] == "__MACOSX") or (parts and parts[-1] == ".DS_Store"):
            continue
        if len(parts) > 2:
            raise UploadRefused(f"file: {name!r} is nested too deep; put the files at the top of the zip "
                                "or in one folder")
        base = parts[-1]
        if kind == "format" and base not in KNOWN:
            raise UploadRefused(f"file: {name!r} is not a FORMAT.md file name (deals.csv, touches.parquet...)")
        if kind == "csv" and not base.lower().endswith(".csv"):
            raise UploadRefused(f"file: {name!r} is not a CSV file; a CRM export is uploaded as a zip of its "
                                "CSV files")
        key = base if kind == "format" else base.casefold()
        if key in chosen:
            raise UploadRefused(f"file: {base!r} appears twice in the zip")
        folder = parts[0] if len(parts) == 2 else ""
        if chosen and folder != top:
            raise UploadRefused(f"file: {name!r} is in another folder than the other files; put them all at the "
                                "top of the zip or all in one folder")
        top = folder
        declared += info.file_size
        if declared > max_total_bytes:
            raise UploadRefused(f"file: the files add up to more than {_mb(max_total_bytes)} unpacked")
        chosen[key] = (info, base)
    if not chosen:
        raise UploadRefused("file: the zip holds no FORMAT.md file (deals.csv at least)" if kind == "format"
                            else "file: the zip holds no CSV file")
    return list(chosen.values())


def copy_capped(src: BinaryIO, target: Path, total: int, *, max_total_bytes: int) -> int:
    """Copy the file object ``src`` to ``target`` (created 0600) in chunks; the running total, refused past the cap."""
    with open_private(target, "wb") as out:
        while chunk := src.read(CHUNK):
            total += len(chunk)
            if total > max_total_bytes:
                raise UploadRefused(f"file: the files add up to more than {_mb(max_total_bytes)} unpacked")
            out.write(chunk)
    return total


def _unpack_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, total: int, *,
                  max_total_bytes: int) -> int:
    """Unpack one entry; UploadRefused naming it when its data does not match its header."""
    try:
        with archive.open(info) as src:
            written = copy_capped(src, target, total, max_total_bytes=max_total_bytes) - total
    except UploadRefused:
        raise
    except RuntimeError as exc:  # zipfile: "File ... is encrypted, password required for extraction"
        raise UploadRefused(f"file: {info.filename!r} in the zip is encrypted; upload a zip without a "
                            "password") from exc
    except NotImplementedError as exc:  # a compression method zipfile cannot read
        raise UploadRefused(f"file: {info.filename!r} in the zip is compressed in a way that cannot be read "
                            f"({exc}); zip it again with the usual (deflate) compression") from exc
    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError) as exc:
        raise UploadRefused(f"file: {info.filename!r} in the zip does not unpack to what its header says (its "
                            f"size or checksum differ: {exc}); the zip is damaged or was altered") from exc
    if written != info.file_size:  # zipfile stops at the declared size, so this is data shorter than declared
        raise UploadRefused(f"file: {info.filename!r} in the zip unpacks to {written:,} bytes where its header "
                            f"says {info.file_size:,}; the zip is damaged or was altered")
    return total + written


def extract_zip(upload: BinaryIO, folder: Path, kind: str = "format", *, max_total_bytes: int,
                max_entries: int = MAX_ENTRIES) -> list[str]:
    """Unpack the zip file object ``upload`` into ``folder`` (created, must not exist); the file names written.

    Raise UploadRefused (and leave no ``folder``) on anything the module doc lists.
    """
    end = _end_record(upload)
    if end is not None and (end[0] > max_entries or end[1] > max_entries * _CD_RECORD_MAX):
        raise UploadRefused(f"file: the zip declares {end[0]:,} entries; at most {max_entries:,} are taken")
    try:
        archive = zipfile.ZipFile(upload)
    except (zipfile.BadZipFile, EOFError, ValueError, NotImplementedError):
        raise UploadRefused("file: not a zip file") from None
    with archive:
        entries = zip_entries(archive, kind, max_total_bytes=max_total_bytes, max_entries=max_entries)
        if folder.exists():
            raise FileExistsError(f"{folder} exists")
        private_dir(folder)
        try:
            total = 0
            for info, base in entries:
                total = _unpack_entry(archive, info, folder / base, total, max_total_bytes=max_total_bytes)
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    return sorted(base for _info, base in entries)


def csv_name(name: str) -> str:
    """The base name of an uploaded ``.csv`` file, safe to write (UploadRefused when there is none)."""
    base = PurePosixPath((name or "").replace("\\", "/")).name
    base = re.sub(r"[\x00-\x1f\x7f]", "", base).strip()
    if base in ("", ".", "..") or not base.lower().endswith(".csv"):
        raise UploadRefused(f"file: {name!r} is not a .csv file name")
    return base
