"""getResolvedOptions, as Glue resolves a job's arguments."""

from __future__ import annotations

import argparse
from collections.abc import Sequence


class GlueArgumentError(Exception):
    """A required job argument is missing (Glue fails the run before the script does anything)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse would print usage and exit
        raise GlueArgumentError(message)


def getResolvedOptions(args: Sequence[str], options: Sequence[str]) -> dict[str, str]:  # noqa: N802 (Glue's name)
    """The values of `options` from `args` (sys.argv: the script, then `--NAME value` pairs).

    Every option asked for is required; Glue's own arguments (`--JOB_ID`, `--TempDir`,
    `--job-bookmark-option`, ...) and any others are ignored unless asked for. A value may start
    with `-` (`--OFFSET -1`): it is taken as given, as Glue does.
    """
    parser = _Parser(prog=args[0] if args else "job", add_help=False, allow_abbrev=False)
    for name in options:
        parser.add_argument(f"--{name}", dest=name, required=True)
    # `--NAME=value` keeps a value that starts with a dash; argparse would read it as an option.
    joined: list[str] = []
    tokens = list(args[1:])
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("--") and "=" not in token and index + 1 < len(tokens):
            joined.append(f"{token}={tokens[index + 1]}")
            index += 2
        else:
            joined.append(token)
            index += 1
    parsed, _unknown = parser.parse_known_args(joined)
    return {name: getattr(parsed, name) for name in options}
