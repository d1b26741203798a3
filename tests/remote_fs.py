"""A filesystem with a scheme, like gs:// or s3://, that lives on the local disk:
``localtest:///abs/path``. Registered with Beam's FileSystems on import, so the remote code paths
of tfcolor.core.fs (data_prep, colorize --runner=beam) run offline. In-process only (Beam's in_memory mode)."""

import os

from apache_beam.io.filesystem import FileMetadata
from apache_beam.io.localfilesystem import LocalFileSystem

PREFIX = "localtest://"


def local(path):
    return path[len(PREFIX):] if path.startswith(PREFIX) else path


class SchemeLocalFileSystem(LocalFileSystem):
    @classmethod
    def scheme(cls):
        return "localtest"

    def join(self, basepath, *paths):
        return PREFIX + super().join(local(basepath), *paths)

    def mkdirs(self, path):
        return super().mkdirs(local(path))

    def _list(self, dir_or_prefix):
        if os.path.isfile(local(dir_or_prefix)):  # an object's exact name lists that object
            info = os.stat(local(dir_or_prefix))
            yield FileMetadata(PREFIX + local(dir_or_prefix), info.st_size, info.st_mtime)
            return
        for folder, _, files in os.walk(local(dir_or_prefix)):
            for name in files:
                path = os.path.join(folder, name)
                info = os.lstat(path)  # a dangling link is listed too, as os.walk lists it
                yield FileMetadata(PREFIX + path, info.st_size, info.st_mtime)

    def create(self, path, *args, **kwargs):
        return super().create(local(path), *args, **kwargs)

    def open(self, path, *args, **kwargs):
        return super().open(local(path), *args, **kwargs)

    def rename(self, sources, destinations):
        return super().rename([local(p) for p in sources], [local(p) for p in destinations])

    def exists(self, path):
        return super().exists(local(path))

    def metadata(self, path):
        if os.path.isdir(local(path)):  # an object store has no folder objects
            raise FileNotFoundError(path)
        info = os.stat(local(path))
        return FileMetadata(PREFIX + local(path), info.st_size, info.st_mtime)

    def size(self, path):
        return super().size(local(path))

    def delete(self, paths):
        for path in paths:
            os.remove(local(path))
