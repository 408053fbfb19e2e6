"""Files, progress and user errors of the ``skhash`` command.

Every file is written atomically (to a temporary file in the same folder, then
renamed), so a failed command leaves no half-written output behind.
"""

import contextlib
import os
import sys
import tempfile
from pathlib import Path


class CommandError(Exception):
    """A user error: printed as ``skhash <command>: error: <message>``."""


def _log(args, message):
    """Progress output on stderr (stdout carries the tables)."""
    if not getattr(args, "quiet", False):
        print(message, file=sys.stderr, flush=True)


_READ_FORMATS = (".npy", ".fvecs", ".bvecs", ".ivecs")


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _check_output_path(path, suffixes, what):
    """Fail before any work when an output path cannot be written."""
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        raise CommandError(
            f"{what} {str(path)!r}: unsupported extension {path.suffix!r}; use one "
            f"of {', '.join(suffixes)}."
        )
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise CommandError(
            f"{what} {str(path)!r}: folder {str(folder)!r} does not exist."
        )
    if path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a folder, not a file.")
    return path


def _atomic_write(path, write):
    """Call ``write(binary_file)`` on a temporary file, then rename it to ``path``.

    The temporary file lives in the destination folder (so ``os.replace`` is an
    atomic rename) and is removed if ``write`` raises.
    """
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    return path


def _write_text(path, text):
    return _atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def _write_npy(path, array):
    import numpy as np

    return _atomic_write(path, lambda f: np.save(f, array, allow_pickle=False))


def _write_ivecs(path, array):
    import numpy as np

    a = np.asarray(array)
    rows = np.empty((a.shape[0], a.shape[1] + 1), dtype="<i4")
    rows[:, 0] = a.shape[1]
    rows[:, 1:] = a
    return _atomic_write(path, lambda f: f.write(rows.tobytes()))


def _read_matrix(path, what, *, kind="features"):
    """Read a 2-D array from ``.npy`` / ``.fvecs`` / ``.bvecs`` / ``.ivecs``.

    ``kind="features"``: finite numbers; ``kind="codes"``: uint8.
    """
    import numpy as np

    from skhash.datasets import read_bvecs, read_fvecs, read_ivecs

    path = Path(path)
    if not path.exists():
        raise CommandError(f"{what} file {str(path)!r} does not exist.")
    if path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a folder, not a file.")
    suffix = path.suffix.lower()
    readers = {".fvecs": read_fvecs, ".bvecs": read_bvecs, ".ivecs": read_ivecs}
    try:
        if suffix == ".npy":
            X = np.load(path, allow_pickle=False)
        elif suffix in readers:
            X = readers[suffix](path)
        else:
            raise CommandError(
                f"{what} file {str(path)!r}: unsupported format {suffix or '(none)'!r};"
                f" use one of {', '.join(_READ_FORMATS)}."
            )
    except CommandError:
        raise
    except (ValueError, OSError, EOFError) as exc:
        raise CommandError(
            f"{what} file {str(path)!r} is not a valid {suffix} file: {exc}"
        ) from exc
    if X.ndim != 2:
        raise CommandError(
            f"{what} file {str(path)!r} must hold a 2-D array (one row per "
            f"sample); got shape {X.shape}."
        )
    if X.shape[0] == 0 or X.shape[1] == 0:
        raise CommandError(f"{what} file {str(path)!r} is empty (shape {X.shape}).")
    if kind == "codes":
        if X.dtype != np.uint8:
            raise CommandError(
                f"{what} file {str(path)!r} holds {X.dtype} values of shape "
                f"{X.shape}; packed codes are uint8 (write them with "
                "`skhash encode`)."
            )
    else:
        if X.dtype.kind not in "iuf":
            raise CommandError(
                f"{what} file {str(path)!r} holds {X.dtype} values; features must "
                "be numbers."
            )
        if X.dtype.kind == "f" and not np.isfinite(X).all():
            raise CommandError(f"{what} file {str(path)!r} contains NaN or infinity.")
    return X


def _read_labels(path, n_samples):
    import numpy as np

    path = Path(path)
    if not path.exists():
        raise CommandError(f"labels file {str(path)!r} does not exist.")
    try:
        if path.suffix.lower() == ".npy":
            y = np.load(path, allow_pickle=False)
        elif path.suffix.lower() in (".txt", ".csv"):
            y = np.loadtxt(path, delimiter="," if path.suffix == ".csv" else None)
            if y.dtype.kind == "f" and np.array_equal(y, np.round(y)):
                y = y.astype(np.int64)
        else:
            raise CommandError(
                f"labels file {str(path)!r}: unsupported format "
                f"{path.suffix!r}; use .npy, .txt or .csv."
            )
    except CommandError:
        raise
    except (ValueError, OSError) as exc:
        raise CommandError(f"labels file {str(path)!r} is not readable: {exc}") from exc
    if y.ndim not in (1, 2) or y.shape[0] != n_samples:
        raise CommandError(
            f"labels file {str(path)!r} must hold one label (or one 0/1 indicator "
            f"row) per sample, {n_samples}; got shape {y.shape}."
        )
    return y


def _check_output_dir(path, what):
    """Fail before any work when an output folder cannot be made or written."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise CommandError(f"{what} {str(path)!r} is a file, not a folder.")
    existing = path.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        raise CommandError(
            f"{what} {str(path)!r}: {str(existing)!r} is a file, not a folder."
        )
    if not os.access(existing, os.W_OK | os.X_OK):
        raise CommandError(f"{what} {str(path)!r}: {str(existing)!r} is not writable.")
    return path


def _load_model(path):
    import joblib

    path = Path(path)
    if not path.exists():
        raise CommandError(f"model file {str(path)!r} does not exist.")
    try:
        model = joblib.load(path)
    except Exception as exc:  # any unpickling failure means "not a model"
        raise CommandError(
            f"model file {str(path)!r} is not a model written by `skhash fit` "
            f"({type(exc).__name__}: {exc})."
        ) from exc
    return model


def _chunks(n, size):
    for start in range(0, n, size):
        yield slice(start, min(n, start + size))


def add_quiet_option(command):
    """The ``-q/--quiet`` flag of a subcommand (silences :func:`_log`)."""
    command.add_argument(
        "-q", "--quiet", action="store_true", help="no progress output on stderr"
    )
