"""Read the files inside a Qt resource bundle (``.rcc``, as GCompris ships its photos).

The format (Qt's rcc, versions 1 to 3): a big-endian header ``qres``, version, then the offsets of
the tree, the data and the names. Each tree entry is the offset of its name, its flags (2: a
folder, 1: zlib data, 4: zstd data) and, for a folder, its number of children and first child;
for a file, its locale and the offset of its data (4 bytes of size, then the bytes; zlib data
starts with its 4-byte uncompressed size). Names are a 2-byte length, a 4-byte hash and UTF-16.
"""

import struct
import zlib

FOLDER, ZLIB, ZSTD = 2, 1, 4


def read_rcc(path):
    """{path inside the bundle: bytes} of every file (zstd-compressed files are left out)."""
    with open(path, "rb") as f:
        blob = f.read()
    magic, version, tree, data, names = struct.unpack(">4sIIII", blob[:20])
    if magic != b"qres" or version not in (1, 2, 3):
        raise ValueError(f"{path}: not a Qt resource bundle (magic {magic!r}, version {version})")
    entry_size = 14 if version == 1 else 22

    def name(offset):
        (length,) = struct.unpack(">H", blob[names + offset:names + offset + 2])
        return blob[names + offset + 6:names + offset + 6 + 2 * length].decode("utf-16-be")

    files = {}
    stack = [(0, "")]
    while stack:
        index, parent = stack.pop()
        at = tree + index * entry_size
        name_offset, flags = struct.unpack(">IH", blob[at:at + 6])
        path_here = f"{parent}/{name(name_offset)}" if index else ""
        if flags & FOLDER:
            count, first = struct.unpack(">II", blob[at + 6:at + 14])
            stack.extend((child, path_here) for child in range(first, first + count))
            continue
        if flags & ZSTD:
            continue
        (offset,) = struct.unpack(">I", blob[at + 10:at + 14])
        (size,) = struct.unpack(">I", blob[data + offset:data + offset + 4])
        payload = blob[data + offset + 4:data + offset + 4 + size]
        files[path_here.lstrip("/")] = zlib.decompress(payload[4:]) if flags & ZLIB else payload
    return files
