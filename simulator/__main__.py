"""``python -m simulator`` is the ``ipsim`` command; :func:`main` is its entry point."""

import signal
import sys

from simulator.errors import Terminated, raise_terminated  # the standard library only: quick


def main() -> None:
    """The ``ipsim`` console script. The command's modules (pandas, pydantic, ...) load
    inside the guard, so that Ctrl-C or SIGTERM while they load ends in one line."""
    signal.signal(signal.SIGTERM, raise_terminated)
    try:
        from simulator.cli import main as run_command

        run_command()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: no results were written\n")
        sys.exit(130)
    except Terminated:
        sys.stderr.write("terminated: no results were written\n")
        sys.exit(143)


if __name__ == "__main__":
    main()
