"""File operations on local paths or any filesystem Apache Beam knows (data_prep, colorize --runner=beam).

Local paths go through ``os``; paths with a scheme (``gs://``, ``s3://``, ``hdfs://``) through
Beam's ``FileSystems`` (with the matching Beam extra installed: ``apache-beam[gcp]`` for gs://,
``[aws]`` for s3://...).
"""

import fnmatch
import json
import math
import os
import shutil
import uuid


def is_remote(path):
    return "://" in str(path)


def _fs():
    from apache_beam.io.filesystems import FileSystems

    return FileSystems


def join(*parts):
    return _fs().join(*parts) if is_remote(parts[0]) else os.path.join(*parts)


def exists(path):
    return _fs().exists(path) if is_remote(path) else os.path.exists(path)


def makedirs(path):
    if is_remote(path):
        return  # object stores have no folders
    os.makedirs(path, exist_ok=True)


def listdir(folder, pattern="*"):
    """Full paths of the files directly in ``folder`` whose names match ``pattern``."""
    if is_remote(folder):
        prefix = folder.rstrip("/") + "/"
        found = _fs().match([prefix + pattern])[0].metadata_list
        return sorted(m.path for m in found if "/" not in m.path[len(prefix):])
    if not os.path.isdir(folder):
        return []
    return sorted(os.path.join(folder, n) for n in os.listdir(folder) if fnmatch.fnmatch(n, pattern))


def remove(paths):
    paths = list(paths)
    if not paths:
        return
    if is_remote(paths[0]):
        _fs().delete(paths)
    else:
        for path in paths:
            os.remove(path)


def read_bytes(path):
    if is_remote(path):
        with _fs().open(path) as f:
            return f.read()
    with open(path, "rb") as f:
        return f.read()


def read_text(path):
    return read_bytes(path).decode()


def list_tree(root):
    """Paths of every file below a remote folder (local folders: os.walk)."""
    prefix = root.rstrip("/") + "/"
    return sorted(m.path for m in _fs().match([prefix + "**"])[0].metadata_list)


def is_file(path):
    """Whether ``path`` is a file (on an object store: an object of that exact name)."""
    if not is_remote(path):
        return os.path.isfile(path)
    from apache_beam.io.filesystem import BeamIOError

    try:
        return any(m.path == path for m in _fs().match([path])[0].metadata_list)
    except BeamIOError:  # nothing of that exact name (a folder, on filesystems that have them)
        return False


def match(pattern):
    """Sorted paths of the files matching a glob on any filesystem."""
    if not is_remote(pattern):
        import glob

        return sorted(p for p in glob.glob(pattern, recursive=True) if os.path.isfile(p))
    return sorted(m.path for m in _fs().match([pattern])[0].metadata_list)


def fetch(path, local_dir):
    """A file, or every file below a folder, on any filesystem copied into ``local_dir``;
    returns the local copy's path (a model on gs:// for a worker, say)."""
    local = os.path.join(local_dir, path.rstrip("/").rsplit("/", 1)[-1])
    if is_file(path):
        with open(local, "wb") as f:
            f.write(read_bytes(path))
        return local
    prefix = path.rstrip("/") + "/"
    for remote in list_tree(path):
        target = os.path.join(local, *remote[len(prefix):].split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as f:
            f.write(read_bytes(remote))
    return local


def read_json(path):
    return json.loads(read_text(path))


def write_bytes_atomic(path, data):
    """Writes under a unique temporary name, then renames: readers see all or nothing, and
    two attempts writing the same file (a retried Beam bundle) do not clash."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    if is_remote(path):
        with _fs().create(tmp) as f:
            f.write(data)
        _fs().rename([tmp], [path])
        return
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def finite(value):
    """JSON has no NaN or Infinity: such floats become None (null), in nested dicts and lists."""
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def json_text(obj, indent=2, sort_keys=False):
    """Valid JSON of ``obj`` (non-finite floats as null): what every JSON file of tfcolor holds."""
    return json.dumps(finite(obj), indent=indent, sort_keys=sort_keys, allow_nan=False)


def write_json_atomic(path, obj):
    write_bytes_atomic(path, json_text(obj, sort_keys=True).encode())


def publish(local_path, path):
    """Moves a finished local file to ``path`` (any filesystem): copied under a temporary name
    next to it, then renamed, so ``path`` appears complete or not at all."""
    tmp = f"{path}.tmp-{uuid.uuid4().hex[:12]}"
    if not is_remote(path):
        shutil.move(local_path, tmp)
        os.replace(tmp, path)
        return
    with open(local_path, "rb") as src, _fs().create(tmp) as dst:
        while chunk := src.read(1 << 24):
            dst.write(chunk)
    _fs().rename([tmp], [path])
    os.remove(local_path)
