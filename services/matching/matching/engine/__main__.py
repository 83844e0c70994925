"""Run the engine on an exported cohort:

    python -m matching.engine instance.json > result.json
    python -m matching.engine - --seed 3 --time-limit 60 --progress < instance.json

The result JSON goes to stdout; with --progress, one JSON line {"phase", "percent"} per step goes
to stderr."""
import argparse
import json
import os
import sys

from marshmallow import ValidationError


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m matching.engine", description="Group matching on one instance.")
    parser.add_argument("instance", help="instance JSON file, or - for stdin")
    parser.add_argument("--time-limit", type=float, default=None, help="safety limit in seconds (overrides settings)")
    parser.add_argument("--seed", type=int, default=None, help="random seed (overrides settings)")
    parser.add_argument("--progress", action="store_true", help="progress lines on stderr")
    args = parser.parse_args(argv)
    # The solvers' libraries may print banners on stdout; stdout is reserved for the result.
    result_out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    sys.stdout.flush()
    with open(os.devnull, "w") as sink:
        os.dup2(sink.fileno(), sys.stdout.fileno())

    from matching.engine import solve

    source = sys.stdin if args.instance == "-" else open(args.instance, encoding="utf-8")
    with source:
        instance = json.load(source)
    settings = dict(instance.get("settings") or {})
    if args.time_limit is not None:
        settings["time_limit_seconds"] = args.time_limit
    if args.seed is not None:
        settings["seed"] = args.seed
    instance["settings"] = settings

    def progress(phase, percent):
        sys.stderr.write(json.dumps({"phase": phase, "percent": percent}) + "\n")
        sys.stderr.flush()

    try:
        result = solve(instance, progress=progress if args.progress else None)
    except ValidationError as err:
        sys.stderr.write(json.dumps({"error": "invalid settings", "fields": err.messages}) + "\n")
        return 2
    json.dump(result, result_out, separators=(",", ":"))
    result_out.write("\n")
    result_out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
