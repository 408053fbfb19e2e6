"""Data home resolution, checksum verification and download code."""

import hashlib
import os
import shutil
import tempfile
import urllib.request
from pathlib import Path

__all__ = ["ChecksumError", "get_data_home"]

_ENV_VAR = "SKHASH_DATA"

# In-memory record of files already verified in this process, keyed by
# (resolved path, size, mtime): a file is hashed once per process and nothing is
# written to disk.
_VERIFIED = {}


class ChecksumError(OSError):
    """A data file does not have the expected checksum (corrupt or wrong file)."""


def get_data_home(data_home=None):
    """Return the folder that holds the local copies of the datasets.

    Resolution order: the ``data_home`` argument, else the ``SKHASH_DATA``
    environment variable, else ``~/skhash_data``. The folder is not created.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Explicit folder.

    Returns
    -------
    data_home : pathlib.Path
        The folder, with ``~`` expanded.

    Examples
    --------
    >>> from skhash.datasets import get_data_home
    >>> str(get_data_home("/tmp/my_data"))
    '/tmp/my_data'
    """
    if data_home is None:
        data_home = os.environ.get(_ENV_VAR) or os.path.join("~", "skhash_data")
    return Path(os.fspath(data_home)).expanduser()


def _file_digest(path, algorithm="sha256", chunk=1 << 20):
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def _cache_key(path):
    st = os.stat(path)
    return (str(Path(path).resolve()), st.st_size, st.st_mtime_ns)


def _verify_file(path, expected, algorithm="sha256"):
    """Check ``path`` against a hex digest; hash once per process."""
    key = _cache_key(path) + (algorithm, expected)
    if key in _VERIFIED:
        return
    digest = _file_digest(path, algorithm)
    if digest != expected:
        raise ChecksumError(
            f"Checksum mismatch for {os.fspath(path)!r}: {algorithm} is {digest}, "
            f"expected {expected}. The file is corrupt or not the published one; "
            "delete it and fetch it again (or pass verify=False to skip the check)."
        )
    _VERIFIED[key] = True


def _verify_bytes(data, expected, name, algorithm="md5"):
    digest = hashlib.new(algorithm, data).hexdigest()
    if digest != expected:
        raise ChecksumError(
            f"Checksum mismatch for {name!r}: {algorithm} of its decompressed "
            f"content is {digest}, expected {expected}. The file is corrupt or not "
            "the published one (or pass verify=False to skip the check)."
        )


def _download(url, path, *, checksum=None, algorithm="sha256", timeout=60):
    """Fetch ``url`` to ``path`` atomically, verifying its digest if given.

    The file is written to a temporary name in the target folder and renamed
    only after the download (and checksum) succeeded, so an interrupted fetch
    never leaves a truncated file under the final name. ``file://`` URLs work,
    which is how the tests exercise this code.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with (
            os.fdopen(fd, "wb") as out,
            urllib.request.urlopen(url, timeout=timeout) as response,
        ):
            shutil.copyfileobj(response, out)
        if checksum is not None:
            digest = _file_digest(tmp, algorithm)
            if digest != checksum:
                raise ChecksumError(
                    f"Checksum mismatch for the download of {url!r} "
                    f"({path.name}): {algorithm} is {digest}, expected {checksum}."
                )
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path


def _source_description(title, source, licence, notes=""):
    text = f"{title}\n{'=' * len(title)}\n\nSource: {source}\nLicence: {licence}\n"
    if notes:
        text += f"\n{notes}\n"
    return text
