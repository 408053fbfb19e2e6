"""The ``skhash`` command.

Subcommands:

* ``skhash demo`` (also the default with no arguments) fits the classic hashers
  at 16, 32 and 64 bits on scikit-learn's digits data and prints an mAP table.
* ``skhash bench``: methods x code lengths on one dataset and protocol -> a table
  of mAP, precision within Hamming radius 2, fit, encode and search times, saved
  as CSV and JSON, with plots when matplotlib is installed.
  ``skhash bench --reproduce`` runs every benchmark declared in
  ``benchmarks/registry.py`` (from a source checkout: the benchmarks do not
  ship with the installed package).
* ``skhash fit`` / ``encode`` / ``search``: fit a hashing pipeline on a
  ``.npy`` / ``.fvecs`` / ``.bvecs`` file (or a folder of images) and save it
  with joblib, encode a file to packed codes, search a code file and write the
  neighbours. With a quantizer (``--method PQ`` / ``OPQ``) the pipeline ends
  in a ``QuantizedNeighbors``, ``encode`` writes one uint8 codeword index per
  subspace, and ``search`` takes the raw query features (not codes) and ranks
  by asymmetric distance.

Every file is written atomically (to a temporary file in the same folder, then
renamed), so a failed command leaves no half-written output behind. User
errors (missing or malformed files, wrong shapes, unknown methods, parameter
values an estimator rejects, running out of memory, a CUDA device without
CUDA) print one ``skhash <command>: error: ...`` line and exit with status 2;
Ctrl-C prints ``skhash <command>: interrupted`` and exits with status 130.
"""

import argparse
import sys

from skhash.cli import _bench, _demo, _encode, _fit, _search
from skhash.cli._io import CommandError
from skhash.cli._methods import available_methods

__all__ = ["available_methods", "main"]


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Help text that ends with each option's default (none for flags)."""

    def _get_help_string(self, action):
        if action.default is None or action.nargs == 0:
            return action.help
        return super()._get_help_string(action)


def _parser():
    parser = argparse.ArgumentParser(
        prog="skhash",
        description="Learning to hash with a scikit-learn API.",
        formatter_class=_HelpFormatter,
    )
    sub = parser.add_subparsers(dest="command")

    def add(name, **kwargs):
        return sub.add_parser(name, formatter_class=_HelpFormatter, **kwargs)

    for module in (_demo, _bench, _fit, _encode, _search):
        module.add_parser(add)
    return parser


_COMMANDS = {
    "demo": _demo.run,
    "bench": _bench.run,
    "fit": _fit.run,
    "encode": _encode.run,
    "search": _search.run,
}


def main(argv=None):
    """Run the ``skhash`` command line.

    Parameters
    ----------
    argv : list of str, default=None
        Arguments; None reads ``sys.argv``.

    Returns
    -------
    status : int
        Exit status: 0 on success, 2 on a user error (bad file, shape, format,
        option), which is printed as one ``skhash <command>: error:`` line.

    Examples
    --------
    >>> from skhash.cli import main
    >>> main(["demo", "--n-bits", "8"])  # doctest: +ELLIPSIS
    skhash demo: ...
    ITQ ...
    0
    """
    parser = _parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:
        args = parser.parse_args(["demo"])
    args.argv = argv
    prefix = f"skhash {args.command}"
    try:
        return _COMMANDS[args.command](args)
    except KeyboardInterrupt:
        # Files are written atomically, so nothing half-written is left.
        print(f"{prefix}: interrupted", file=sys.stderr)
        return 130
    except (CommandError, ValueError) as exc:
        # ValueError: an estimator rejected a parameter or the data
        print(f"{prefix}: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except MemoryError as exc:
        detail = f" ({_one_line(exc)})" if str(exc) else ""
        print(
            f"{prefix}: error: out of memory{detail}; lower --n-bits or the "
            "parameters that set the model's size, or use less data.",
            file=sys.stderr,
        )
        return 2
    except (RuntimeError, TypeError, AssertionError) as exc:
        # torch reports shape, device and CUDA errors as these
        print(
            f"{prefix}: error: {type(exc).__name__}: {_one_line(exc)}",
            file=sys.stderr,
        )
        return 2


def _one_line(exc):
    """The message of an exception on one line."""
    return " ".join(str(exc).split())
