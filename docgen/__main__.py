"""Run docgen as ``python -m docgen``."""

from docgen.cli import main

# Guarded: worker processes started by spawn or forkserver import this module again.
if __name__ == "__main__":
    main()
