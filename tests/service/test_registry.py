"""The registry container on the real broker and database, driven over RPC."""
import hashlib

import pytest

from coalition_common.errors import Conflict, NotFound, Unauthenticated, ValidationFailed

pytestmark = pytest.mark.service

ADMIN = {"staff_id": "operator:test", "partner_id": None, "hub_id": None, "roles": ["coalition_admin"]}


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


def test_issued_keys_authenticate_and_record_last_use(registry):
    partner = registry.rpc("registry", "register_partner", ADMIN, {"name": "Key Test NGO", "kind": "ngo", "region": "CA-BC"})
    staff = registry.rpc("registry", "add_staff", ADMIN, partner["id"], {"name": "K", "email": "k@ngo.example", "roles": ["coordinator"]})
    issued = registry.rpc("registry", "issue_key", ADMIN, staff["id"])
    assert issued["key"].startswith(issued["prefix"] + "_")
    identity = registry.rpc("registry", "authenticate", issued["key"])
    assert identity == {"staff_id": staff["id"], "partner_id": partner["id"], "hub_id": None,
                        "roles": ["coordinator"], "key_id": issued["id"], "charter_accepted": False,
                        "expires_at": None}
    stored = registry.database("registry").api_keys.find_one({"_id": issued["id"]})
    assert stored["last_used_at"] is not None and stored["prefix"] == issued["prefix"]


def test_suspended_partners_keys_are_refused(registry):
    partner = registry.rpc("registry", "register_partner", ADMIN, {"name": "Suspend Me", "kind": "employer", "region": "CA-BC"})
    staff = registry.rpc("registry", "add_staff", ADMIN, partner["id"], {"name": "S", "email": "s@employer.example", "roles": ["recruiter"]})
    key = registry.rpc("registry", "issue_key", ADMIN, staff["id"])["key"]
    assert registry.rpc("registry", "authenticate", key)["partner_id"] == partner["id"]
    registry.rpc("registry", "set_partner_status", ADMIN, partner["id"], "suspended")
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", key)
    registry.rpc("registry", "set_partner_status", ADMIN, partner["id"], "active")
    assert registry.rpc("registry", "authenticate", key)["partner_id"] == partner["id"]


def test_expired_and_revoked_keys_are_refused(registry):
    partner = registry.rpc("registry", "register_partner", ADMIN, {"name": "Expiry NGO", "kind": "ngo", "region": "CA-BC"})
    staff = registry.rpc("registry", "add_staff", ADMIN, partner["id"], {"name": "E", "email": "e@ngo.example", "roles": ["analyst"]})
    issued = registry.rpc("registry", "issue_key", ADMIN, staff["id"], {"expires_at": "2099-01-01T00:00:00+00:00"})
    assert registry.rpc("registry", "authenticate", issued["key"])["staff_id"] == staff["id"]
    # Time passes: the stored expiry is now behind us.
    import datetime

    registry.database("registry").api_keys.update_one(
        {"_id": issued["id"]}, {"$set": {"expires_at": datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)}})
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", issued["key"])
    other = registry.rpc("registry", "issue_key", ADMIN, staff["id"])
    registry.rpc("registry", "revoke_key", ADMIN, other["id"])
    with pytest.raises(Unauthenticated):
        registry.rpc("registry", "authenticate", other["key"])
    with pytest.raises(ValidationFailed):
        registry.rpc("registry", "issue_key", ADMIN, staff["id"], {"expires_at": "2001-01-01T00:00:00+00:00"})


def test_tenancy_is_enforced_inside_the_registry(registry):
    first = registry.rpc("registry", "register_partner", ADMIN, {"name": "Tenant One", "kind": "ngo", "region": "CA-BC"})
    second = registry.rpc("registry", "register_partner", ADMIN, {"name": "Tenant Two", "kind": "ngo", "region": "CA-BC"})
    outsider = {"staff_id": "x", "partner_id": second["id"], "hub_id": None, "roles": ["partner_admin"]}
    with pytest.raises(NotFound):
        registry.rpc("registry", "get_partner", outsider, first["id"])
    with pytest.raises(NotFound):
        registry.rpc("registry", "add_staff", outsider, first["id"], {"name": "Intruder", "email": "i@x.example", "roles": ["coordinator"]})
    listed = registry.rpc("registry", "list_partners", outsider)
    assert [p["id"] for p in listed["items"]] == [second["id"]]
