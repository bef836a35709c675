"""`python -m r1cli` is the same as the `r1` console script."""

from r1cli.cli import main

if __name__ == "__main__":
    main()
