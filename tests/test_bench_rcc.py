"""bench/rcc.py reads a Qt resource bundle built here byte by byte after Qt's format (version 3:
names, a tree of 22-byte entries, data with zlib compression flagged per file)."""

import struct
import zlib

import pytest

from bench.rcc import read_rcc


def name_record(text):
    encoded = text.encode("utf-16-be")
    return struct.pack(">HI", len(text), 0) + encoded  # the hash is not read


def build_bundle(version=3):
    plain, packed = b"plain bytes", b"compressible " * 50
    names = b""
    name_offsets = {}
    for text in ("photos", "a.webp", "b.txt"):
        name_offsets[text] = len(names)
        names += name_record(text)
    stored = zlib.compress(packed)
    data = struct.pack(">I", len(plain)) + plain
    packed_at = len(data)
    data += struct.pack(">I", 4 + len(stored)) + struct.pack(">I", len(packed)) + stored
    pad = b"\0" * 8 if version > 1 else b""
    tree = (struct.pack(">IHII", 0, 2, 1, 1) + pad  # the root: one child, entry 1
            + struct.pack(">IHII", name_offsets["photos"], 2, 2, 2) + pad  # a folder of entries 2 and 3
            + struct.pack(">IHHHI", name_offsets["a.webp"], 0, 0, 0, 0) + pad
            + struct.pack(">IHHHI", name_offsets["b.txt"], 1, 0, 0, packed_at) + pad)
    header_size = 24 if version >= 3 else 20
    data_at = header_size
    names_at = data_at + len(data)
    tree_at = names_at + len(names)
    header = struct.pack(">4sIIII", b"qres", version, tree_at, data_at, names_at)
    if version >= 3:
        header += struct.pack(">I", 1)
    return header + data + names + tree, plain, packed


@pytest.mark.parametrize("version", [1, 2, 3])
def test_files_come_back_by_path_plain_and_zlib(tmp_path, version):
    bundle, plain, packed = build_bundle(version)
    path = tmp_path / "b.rcc"
    path.write_bytes(bundle)
    assert read_rcc(str(path)) == {"photos/a.webp": plain, "photos/b.txt": packed}


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path):
    path = tmp_path / "x.rcc"
    path.write_bytes(b"\x89PNG" + b"\0" * 40)
    with pytest.raises(ValueError, match="not a Qt resource bundle"):
        read_rcc(str(path))
