"""How a matching run drives the engine's process (matching.runs.solve_in_subprocess), with a
stand-in for the engine's command line (tests/fixtures/stand_in_engine.py): the instance goes in on
stdin, progress lines come back as they are written, the result on stdout; a failing engine fails
the run with its exit status and exception name only, and a run that loses its lease stops the
process."""
import pathlib
import sys

import pytest

from coalition_common.leases import LeaseLost
from matching import runs

STAND_IN = str(pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "stand_in_engine.py")
INSTANCE = {
    "settings": {"group_size_min": 2, "group_size_max": 2, "min_language_level": "B1", "rule_set": "auto", "weights": {},
                 "seed": 0, "time_limit_seconds": 5},
    "mentees": [{"id": f"m{n}"} for n in range(5)],
    "mentors": [{"id": "t1", "partner_id": "p"}, {"id": "t2", "partner_id": "p"}],
}


def command(*flags):
    return (sys.executable, STAND_IN, "-", "--progress", *flags)


def test_the_result_comes_back_and_every_progress_line_is_reported_in_order():
    seen = []
    result = runs.solve_in_subprocess(INSTANCE, lambda phase, percent: seen.append((phase, percent)), 5, command())
    assert [g["mentee_ids"] for g in result["groups"]] == [["m0", "m1"], ["m2", "m3"]]
    assert [u["mentee_id"] for u in result["unplaced"]] == ["m4"]
    assert [step for step in seen if step[0] is not None] == [("model", 10), ("search", 50), ("explain", 90)]


def test_an_engine_that_fails_is_reported_by_exit_status_and_exception_name_only():
    with pytest.raises(runs.EngineFailed) as failed:
        runs.solve_in_subprocess(INSTANCE, lambda phase, percent: None, 5, command("--fail"))
    assert str(failed.value) == "The engine stopped (exit status 1): RuntimeError."


def test_a_run_that_lost_its_lease_stops_the_engine():
    def lost(phase, percent):
        if phase == "search":
            raise LeaseLost("run")

    with pytest.raises(LeaseLost):
        runs.solve_in_subprocess(INSTANCE, lost, 5, command("--sleep", "30"))


def test_the_shipped_command_runs_the_real_engine_module():
    assert runs.ENGINE_COMMAND[1:] == ("-m", "matching.engine", "-", "--progress")
