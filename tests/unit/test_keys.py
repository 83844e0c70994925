"""How long keys and enrolment tokens live, and how staff emails compare."""
import datetime

import pytest

from coalition_common.errors import ValidationFailed
from registry import access, keys, staff

NOW = datetime.datetime(2026, 3, 1, 12, 0, tzinfo=datetime.timezone.utc)
DAY = datetime.timedelta(days=1)


def refusal(requested, parent=None):
    with pytest.raises(ValidationFailed) as err:
        keys.key_expiry(requested, NOW, parent)
    return err.value.errors


def test_a_key_expires_after_90_days_by_default():
    assert keys.key_expiry(None, NOW) == NOW + 90 * DAY


def test_a_key_minted_by_a_shorter_lived_key_ends_with_it():
    parent = NOW + datetime.timedelta(seconds=12)
    assert keys.key_expiry(None, NOW, parent) == parent
    assert keys.key_expiry(None, NOW, NOW + 400 * DAY) == NOW + 90 * DAY


def test_an_expiry_after_the_minting_keys_is_refused_not_shortened():
    errors = refusal(NOW + 2 * DAY, parent=NOW + DAY)
    assert list(errors) == ["expires_at"]
    assert keys.key_expiry(NOW + DAY, NOW, NOW + DAY) == NOW + DAY


@pytest.mark.parametrize("requested", [
    datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone.utc),
    datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.timezone(-datetime.timedelta(hours=23, minutes=59))),
    NOW + 366 * DAY,
])
def test_expiries_beyond_a_year_are_refused_naming_the_field(requested):
    assert list(refusal(requested)) == ["expires_at"]


def test_a_year_is_allowed_and_the_past_is_not():
    assert keys.key_expiry(NOW + 365 * DAY, NOW) == NOW + 365 * DAY
    assert list(refusal(NOW - datetime.timedelta(seconds=1))) == ["expires_at"]
    assert list(refusal(NOW)) == ["expires_at"]


def test_an_expiry_in_another_offset_is_stored_in_utc_to_the_millisecond():
    requested = datetime.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=datetime.timezone(datetime.timedelta(hours=-3)))
    stored = keys.key_expiry(requested, NOW)
    assert stored == requested.replace(microsecond=123000)
    assert stored.utcoffset() == datetime.timedelta(0)


def test_enrolment_tokens_last_72_hours_and_never_past_the_minting_key():
    assert keys.enrolment_expiry(NOW) == NOW + datetime.timedelta(hours=72)
    assert keys.enrolment_expiry(NOW, NOW + DAY) == NOW + DAY


def test_keys_stored_without_expiry_end_a_year_after_creation_except_the_operators():
    assert keys.effective_expiry({"expires_at": None, "created_at": NOW}) == NOW + 365 * DAY
    assert keys.effective_expiry({"expires_at": None, "created_at": NOW, "bootstrap": True}) is None
    assert keys.effective_expiry({"expires_at": NOW + DAY, "created_at": NOW}) == NOW + DAY


def test_enrolment_tokens_are_random_and_never_look_like_keys():
    first, second = keys.generate_enrolment_token(), keys.generate_enrolment_token()
    assert first != second and len(first) >= 32
    assert not first.startswith(keys.KEY_PREFIX + "_")


def test_emails_compare_case_insensitively_after_normalisation():
    assert staff.email_key("Ann.Lee@Harbour.Example") == staff.email_key("ann.lee@harbour.example")
    assert staff.email_key("ａnn@harbour.example") == "ann@harbour.example"  # full-width letter (NFKC)
    assert staff.email_key("STRASSE@x.example") == staff.email_key("straße@x.example")
    assert staff.email_key(access.BOOTSTRAP_ADMIN_EMAIL) == access.BOOTSTRAP_ADMIN_EMAIL
