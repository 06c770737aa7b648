"""`python -m spouge`: the `spouge` command (spouge.cli), Ctrl-C during start-up included."""

import sys

try:
    from .cli import main
except KeyboardInterrupt:  # interrupted while importing: the same one line and status as later
    if "--json" in sys.argv[1:]:
        sys.stdout.write('{"error": "interrupted", "kind": "interrupted", "status": 130}\n')
    else:
        sys.stderr.write("spouge: interrupted\n")
    sys.exit(130)

sys.exit(main())
