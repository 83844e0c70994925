"""The registry container on the real broker and database, driven over RPC."""
import hashlib

import pytest

from coalition_common.errors import Conflict, NotFound, Unauthenticated, ValidationFailed
from coalition_common.identity import operator

pytestmark = pytest.mark.service

ADMIN = operator("test")


@pytest.fixture(scope="module")
def registry(platform_factory):
    return platform_factory("registry", ("registry",))


def test_bootstrap_creates_then_rotates_the_admin_key(registry):
    old = "rotate-old-" + "a" * 40
    new = "rotate-new-" + "b" * 40
    assert registry.rpc("registry", "bootstrap_admin", old)["changed"] is True
    assert registry.rpc("registry", "bootstrap_admin", old)["changed"] is False
    assert registry.rpc("registry", "authenticate", old)["roles"] == ["coalition_admin"]

    assert registry.rpc("registry", "bootstrap_admin", new)["changed"] is True
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", old)
    assert registry.rpc("registry", "authenticate", new)["roles"] == ["coalition_admin"]
    keys = registry.database("registry").api_keys
    assert keys.count_documents({"bootstrap": True, "revoked_at": None}) == 1
    assert registry.database("registry").staff.count_documents({"roles": "coalition_admin"}) == 1

    # Only hashes are stored, and a revoked key cannot be brought back.
    assert keys.find_one({"hash": hashlib.sha256(new.encode()).hexdigest()}) is not None
    assert not any(old in str(doc) or new in str(doc) for doc in keys.find({}))
    with pytest.raises(Conflict):
        registry.rpc("registry", "bootstrap_admin", old)


def test_short_admin_keys_are_refused(registry):
    with pytest.raises(ValidationFailed) as err:
        registry.rpc("registry", "bootstrap_admin", "short")
    assert "key" in err.value.errors


def enrolled(registry, partner_id, email, roles, payload=None):
    """A staff member added by the admin, holding the first key their enrolment token gave them."""
    staff = registry.rpc("registry", "add_staff", partner_id, {"name": "Staff", "email": email, "roles": roles}, identity=ADMIN)
    first = registry.rpc("registry", "exchange_enrolment", staff["enrolment_token"], payload or {})
    return staff, first, registry.rpc("registry", "authenticate", first["key"])


def test_enrolled_keys_authenticate_and_record_last_use(registry):
    partner = registry.rpc("registry", "register_partner", {"name": "Key Test NGO", "kind": "ngo", "region": "CA-BC"}, identity=ADMIN)
    staff, first, identity = enrolled(registry, partner["id"], "k@ngo.example", ["coordinator"])
    assert first["key"].startswith(first["prefix"] + "_")
    assert {k: identity[k] for k in ("staff_id", "partner_id", "hub_id", "roles", "key_id", "charter_accepted")} == {
        "staff_id": staff["id"], "partner_id": partner["id"], "hub_id": None, "roles": ["coordinator"],
        "key_id": first["id"], "charter_accepted": False}
    assert identity["expires_at"] is not None  # 90 days unless asked for less
    second = registry.rpc("registry", "issue_key", staff["id"], identity=identity)
    listed = registry.rpc("registry", "list_keys", staff["id"], identity=identity)["items"]
    assert [k["id"] for k in listed] == [first["id"], second["id"]]
    assert listed[0]["last_used_at"] is not None and listed[0]["prefix"] == first["prefix"]


def test_suspended_partners_keys_are_refused(registry):
    partner = registry.rpc("registry", "register_partner", {"name": "Suspend Me", "kind": "employer", "region": "CA-BC"}, identity=ADMIN)
    _, first, _ = enrolled(registry, partner["id"], "s@employer.example", ["recruiter"])
    registry.rpc("registry", "suspend_partner", partner["id"], identity=ADMIN)
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", first["key"])
    registry.rpc("registry", "reinstate_partner", partner["id"], identity=ADMIN)
    assert registry.rpc("registry", "authenticate", first["key"])["partner_id"] == partner["id"]


def test_expired_and_revoked_keys_are_refused(registry):
    import datetime

    partner = registry.rpc("registry", "register_partner", {"name": "Expiry NGO", "kind": "ngo", "region": "CA-BC"}, identity=ADMIN)
    staff, first, identity = enrolled(registry, partner["id"], "e@ngo.example", ["analyst"],
                                      {"expires_at": "2027-06-01T00:00:00+00:00"})
    other = registry.rpc("registry", "issue_key", staff["id"], identity=identity)
    # Time passes: the stored expiry is now behind us.
    registry.database("registry").api_keys.update_one(
        {"_id": other["id"]}, {"$set": {"expires_at": datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)}})
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", other["key"])
    registry.rpc("registry", "revoke_key", first["id"], identity=identity)
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", first["key"])
    with pytest.raises(ValidationFailed):
        registry.rpc("registry", "exchange_enrolment", "cme_whatever", {"expires_at": "2001-01-01T00:00:00+00:00"})


def test_tenancy_is_enforced_inside_the_registry(registry):
    first = registry.rpc("registry", "register_partner", {"name": "Tenant One", "kind": "ngo", "region": "CA-BC"}, identity=ADMIN)
    second = registry.rpc("registry", "register_partner", {"name": "Tenant Two", "kind": "ngo", "region": "CA-BC"}, identity=ADMIN)
    _, _, outsider = enrolled(registry, second["id"], "admin@two.example", ["partner_admin"])
    with pytest.raises(NotFound):
        registry.rpc("registry", "get_partner", first["id"], identity=outsider)
    with pytest.raises(NotFound):
        registry.rpc("registry", "add_staff", first["id"], {"name": "Intruder", "email": "i@x.example", "roles": ["coordinator"]},
                     identity=outsider)
    listed = registry.rpc("registry", "list_partners", identity=outsider)
    assert [p["id"] for p in listed["items"]] == [second["id"]]
