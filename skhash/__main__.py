"""``python -m skhash`` runs the ``skhash`` command."""

if __name__ == "__main__":  # pragma: no cover
    import sys

    from skhash.cli import main

    sys.exit(main())
