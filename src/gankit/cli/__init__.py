"""``gankit <verb>``: parse arguments and call one library function per verb. No logic here.

Exit codes: 0 success; 2 a user mistake (one line on stderr naming the flag/file and the
problem, no traceback); 1 an unexpected internal error.
"""
from __future__ import annotations

import sys

from ..errors import UserError
from .commands import _slug  # noqa: F401  (tests and scripts name it)
from .parser import build_parser


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return int(args.func(args) or 0)
    except UserError as e:
        print(f"gankit: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("gankit: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        from ..checkpoint import CheckpointWriteError
        from ..train.guard import TrainingDiverged

        if isinstance(e, (TrainingDiverged, CheckpointWriteError)):
            print(f"gankit: {e}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
