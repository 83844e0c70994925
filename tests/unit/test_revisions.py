"""The parts of optimistic concurrency that need no database; the races themselves are in
tests/service/test_registry_races.py."""
import pytest
from nameko.exceptions import deserialize, serialize

from coalition_common.revisions import PreconditionFailed, at_version, check_expected, version_of
from registry.partners import name_key


def test_documents_stored_before_versions_count_as_version_zero():
    assert version_of({"_id": "x"}) == 0
    assert version_of({"_id": "x", "version": None}) == 0
    assert version_of({"_id": "x", "version": 7}) == 7
    assert at_version(0) == {"version": None}  # matches a missing field on MongoDB and FerretDB
    assert at_version(3) == {"version": 3}


@pytest.mark.parametrize("expected", [None, 3])
def test_no_if_match_or_the_stored_version_passes(expected):
    check_expected({"version": 3}, expected)


@pytest.mark.parametrize("expected", [2, 4, 0, "3", 3.0, True])
def test_any_other_if_match_answers_412_naming_the_version(expected):
    with pytest.raises(PreconditionFailed) as failure:
        check_expected({"version": 3}, expected, "programme")
    assert failure.value.status == 412
    assert list(failure.value.errors) == ["version"]
    assert "programme" in failure.value.detail


def test_precondition_failed_crosses_the_rpc_boundary_as_itself():
    received = deserialize(serialize(PreconditionFailed("changed", {"version": ["Does not match the stored version."]})))
    assert isinstance(received, PreconditionFailed)
    assert (received.status, received.title) == (412, "Precondition failed")
    assert received.errors == {"version": ["Does not match the stored version."]}


@pytest.mark.parametrize("same", ["HARBOUR WORKS", "harbour works", "Harbour Works", "HaRbOuR WoRkS"])
def test_partner_names_are_the_same_whatever_their_case(same):
    assert name_key(same) == name_key("Harbour Works")


def test_name_keys_fold_case_as_unicode_does():
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Harbour") != name_key("Harbor")
