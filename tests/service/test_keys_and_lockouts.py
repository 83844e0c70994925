"""Lock-outs that hold, keys that cannot outlive their parents, enrolment tokens that work once,
and staff emails that tell no partner about another's: the registry's plain functions against
the real database, replaying what was tried against the platform.

Each privileged call is made the way the service layer makes it: with the caller as
`access.recheck` reads them from the database at that moment, never as a gateway cached them."""
import datetime
import threading
import uuid

import pymongo
import pytest
from pymongo import ASCENDING

from coalition_common.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationFailed
from coalition_common.revisions import PreconditionFailed
from registry import access, indexes, partners, staff

pytestmark = pytest.mark.service

ADMIN_KEY = "keys-test-admin-" + uuid.uuid4().hex + uuid.uuid4().hex


@pytest.fixture(scope="module")
def db(scratch_database):
    database = scratch_database("registry")
    indexes.prepare(database)
    access.bootstrap_admin(database, ADMIN_KEY)
    return database


@pytest.fixture(scope="module")
def admin(db):
    return access.authenticate(db, ADMIN_KEY)


def live(db, identity):
    return access.recheck(db, identity)


def new_partner(db, admin, kind="ngo"):
    partner, _events = partners.register_partner(
        db, live(db, admin), {"name": f"Partner {uuid.uuid4().hex[:10]}", "kind": kind, "region": "CA-BC"})
    return partner["id"]


def enrol(db, manager, partner_id, roles, email=None):
    """Add a staff member as `manager` and let them exchange their token. Returns (identity, key)."""
    email = email or f"{uuid.uuid4().hex[:12]}@partner.example"
    member = staff.add_staff(db, live(db, manager), partner_id, {"name": "Someone", "email": email, "roles": roles})
    key = access.exchange_enrolment(db, member["enrolment_token"])["key"]
    return access.authenticate(db, key), key


def mint(db, identity, payload=None):
    """The caller mints a key for themselves with the key they hold."""
    return access.issue_key(db, live(db, identity), identity["staff_id"], payload)


def in_days(days):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)).isoformat()


# Finding 2: a revoked key minted a new key 0.02 s after revocation, and that key kept working.

def test_a_revoked_key_can_do_nothing_and_every_key_it_minted_is_dead(db, admin):
    partner_id = new_partner(db, admin)
    holder, _ = enrol(db, admin, partner_id, ["coordinator"])
    child = mint(db, holder)
    child_identity = access.authenticate(db, child["key"])
    grandchild = mint(db, child_identity)

    revoked = access.revoke_key(db, live(db, holder), holder["key_id"])

    assert set(revoked["revoked_ids"]) == {holder["key_id"], child["id"], grandchild["id"]}
    assert revoked["revoked_at"] is not None
    with pytest.raises(Unauthenticated):
        live(db, holder)
    # A gateway still holding the identity cannot mint with it either.
    with pytest.raises(Unauthenticated):
        access.issue_key(db, holder, holder["staff_id"])
    for key in (child["key"], grandchild["key"]):
        with pytest.raises(Unauthenticated):
            access.authenticate(db, key)
    with pytest.raises(Unauthenticated):
        live(db, child_identity)


def test_a_key_minted_while_its_parent_was_being_revoked_is_dead_too(db, admin):
    partner_id = new_partner(db, admin)
    holder, _ = enrol(db, admin, partner_id, ["recruiter"])
    parent = db.api_keys.find_one({"_id": holder["key_id"]})
    access.revoke_key(db, live(db, holder), holder["key_id"])
    # The minting request read its parent just before the revocation and stores its key after it.
    late_key = "cmk_late0000_" + uuid.uuid4().hex
    late = access.store_key(db, {"_id": holder["staff_id"], "partner_id": partner_id}, late_key, "cmk_late0000",
                            expires_at=parent["expires_at"], parent=parent)
    assert db.api_keys.find_one({"_id": late["_id"]})["revoked_at"] is None
    with pytest.raises(Unauthenticated):
        access.authenticate(db, late_key)
    with pytest.raises(Unauthenticated):
        access.recheck(db, dict(holder, key_id=late["_id"]))


def test_a_revoked_key_stays_revoked_while_it_is_being_used(db, admin):
    """Authentication records last use; on FerretDB an update rewrites the whole document it
    read, so a use racing the revocation must not write the key's document. Ten rounds, each
    revoking a key that four threads keep using."""
    partner_id = new_partner(db, admin)
    holder, _ = enrol(db, admin, partner_id, ["analyst"])
    for _ in range(10):
        issued = mint(db, holder)
        stop = threading.Event()

        def use():
            while not stop.is_set():
                db.key_usage.delete_many({"_id": issued["id"]})  # so that this use records itself
                try:
                    access.authenticate(db, issued["key"])
                except Unauthenticated:
                    pass

        users = [threading.Thread(target=use) for _ in range(4)]
        for thread in users:
            thread.start()
        try:
            access.revoke_key(db, live(db, holder), issued["id"])
        finally:
            stop.set()
            for thread in users:
                thread.join()
        with pytest.raises(Unauthenticated):
            access.authenticate(db, issued["key"])
        assert db.api_keys.find_one({"_id": issued["id"]})["revoked_at"] is not None


# Finding 3: keys outlive their parents, 9999-12-31 is accepted, keys are minted for colleagues.

def test_a_child_key_never_outlives_the_key_that_minted_it(db, admin):
    partner_id = new_partner(db, admin)
    holder, _ = enrol(db, admin, partner_id, ["coordinator"])
    short = mint(db, holder, {"expires_at": in_days(1)})
    short_identity = access.authenticate(db, short["key"])

    child = mint(db, short_identity)
    assert child["expires_at"] == short["expires_at"]
    with pytest.raises(ValidationFailed) as refused:
        mint(db, short_identity, {"expires_at": in_days(2)})
    assert list(refused.value.errors) == ["expires_at"]
    # The root key from the enrolment token lasts the default 90 days.
    root = db.api_keys.find_one({"_id": holder["key_id"]})
    assert root["parent_key_id"] is None and root["ancestors"] == []
    assert datetime.timedelta(days=89) < root["expires_at"] - datetime.datetime.now(datetime.timezone.utc) <= datetime.timedelta(days=90)


@pytest.mark.parametrize("expires_at", ["9999-12-31T23:59:59+00:00", "9999-12-31T23:59:59-23:59", in_days(366)])
def test_expiries_beyond_a_year_are_refused_naming_expires_at(db, admin, expires_at):
    partner_id = new_partner(db, admin)
    member = staff.add_staff(db, live(db, admin), partner_id,
                             {"name": "Far", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["analyst"]})
    # A first key has no parent to cap it: only the year does.
    with pytest.raises(ValidationFailed) as refused:
        access.exchange_enrolment(db, member["enrolment_token"], {"expires_at": expires_at})
    assert list(refused.value.errors) == ["expires_at"]
    first = access.exchange_enrolment(db, member["enrolment_token"], {"expires_at": in_days(364)})
    holder = access.authenticate(db, first["key"])
    with pytest.raises(ValidationFailed) as refused:
        mint(db, holder, {"expires_at": expires_at})
    assert list(refused.value.errors) == ["expires_at"]
    assert db.api_keys.count_documents({"staff_id": member["id"]}) == 1


def test_nobody_mints_a_key_for_a_colleague(db, admin):
    partner_id = new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    colleague, _ = enrol(db, partner_admin, partner_id, ["coordinator"])
    for caller in (partner_admin, admin):
        with pytest.raises(Forbidden):
            access.issue_key(db, live(db, caller), colleague["staff_id"])
    assert db.api_keys.count_documents({"staff_id": colleague["staff_id"]}) == 1


def test_a_partner_admin_lists_and_revokes_colleagues_keys_at_their_own_partner_only(db, admin):
    partner_id, other_id = new_partner(db, admin), new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    colleague, colleague_key = enrol(db, partner_admin, partner_id, ["recruiter"])
    outsider, _ = enrol(db, admin, other_id, ["recruiter"])

    listed = access.list_keys(db, live(db, partner_admin), colleague["staff_id"])
    assert [k["id"] for k in listed["items"]] == [colleague["key_id"]]
    assert listed["items"][0]["last_used_at"] is not None and "hash" not in listed["items"][0]
    with pytest.raises(NotFound):
        access.revoke_key(db, live(db, partner_admin), outsider["key_id"])
    with pytest.raises(Forbidden):
        access.revoke_key(db, live(db, colleague), partner_admin["key_id"])
    access.revoke_key(db, live(db, partner_admin), colleague["key_id"])
    with pytest.raises(Unauthenticated):
        access.authenticate(db, colleague_key)
    live(db, outsider)


# Enrolment: a new staff member's single-use token.

def test_an_enrolment_token_works_once(db, admin):
    partner_id = new_partner(db, admin)
    member = staff.add_staff(db, live(db, admin), partner_id,
                             {"name": "New", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["coordinator"]})
    assert set(member) >= {"id", "enrolment_token", "enrolment_expires_at", "version"}
    stored = db.enrolments.find_one({"staff_id": member["id"]})
    assert member["enrolment_token"] not in str(stored)
    first = access.exchange_enrolment(db, member["enrolment_token"], {"label": "laptop"})
    assert access.authenticate(db, first["key"])["staff_id"] == member["id"]
    with pytest.raises(Unauthenticated) as again:
        access.exchange_enrolment(db, member["enrolment_token"])
    with pytest.raises(Unauthenticated) as unknown:
        access.exchange_enrolment(db, "cme_" + uuid.uuid4().hex)
    assert again.value.detail == unknown.value.detail
    actions = [e["action"] for e in db.audit.find({"target_id": {"$in": [member["id"], first["id"]]}})]
    assert "enrolment.issued" in actions and "enrolment.exchanged" in actions
    assert member["enrolment_token"] not in str(list(db.audit.find({})))


def test_two_concurrent_exchanges_of_one_token_make_exactly_one_key(db, admin):
    partner_id = new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    for _ in range(15):
        member = staff.add_staff(db, live(db, partner_admin), partner_id,
                                 {"name": "Twin", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["analyst"]})
        start = threading.Barrier(2)
        outcomes = []

        def exchange():
            start.wait()
            try:
                outcomes.append(access.exchange_enrolment(db, member["enrolment_token"])["id"])
            except Unauthenticated:
                outcomes.append("refused")

        racers = [threading.Thread(target=exchange) for _ in range(2)]
        for thread in racers:
            thread.start()
        for thread in racers:
            thread.join()
        assert sorted(outcome == "refused" for outcome in outcomes) == [False, True], outcomes
        assert db.api_keys.count_documents({"staff_id": member["id"]}) == 1


def test_expired_voided_and_orphaned_tokens_are_refused(db, admin):
    partner_id = new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])

    def added():
        return staff.add_staff(db, live(db, partner_admin), partner_id,
                               {"name": "Later", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["recruiter"]})

    expired = added()
    db.enrolments.update_one({"staff_id": expired["id"]}, {"$set": {"expires_at": datetime.datetime.now(datetime.timezone.utc)}})
    reissued = added()
    fresh = access.issue_enrolment(db, live(db, partner_admin), reissued["id"])
    assert fresh["staff_id"] == reissued["id"] and fresh["enrolment_token"] != reissued["enrolment_token"]
    for token in (expired["enrolment_token"], reissued["enrolment_token"]):
        with pytest.raises(Unauthenticated):
            access.exchange_enrolment(db, token)
    assert access.exchange_enrolment(db, fresh["enrolment_token"])["staff_id"] == reissued["id"]

    # Revoking the key that minted a token voids it.
    orphan = added()
    access.revoke_key(db, live(db, partner_admin), partner_admin["key_id"])
    with pytest.raises(Unauthenticated):
        access.exchange_enrolment(db, orphan["enrolment_token"])


def test_a_bad_expiry_in_an_exchange_does_not_burn_the_token(db, admin):
    partner_id = new_partner(db, admin)
    member = staff.add_staff(db, live(db, admin), partner_id,
                             {"name": "Careful", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["analyst"]})
    with pytest.raises(ValidationFailed) as refused:
        access.exchange_enrolment(db, member["enrolment_token"], {"expires_at": "9999-12-31T23:59:59+00:00"})
    assert list(refused.value.errors) == ["expires_at"]
    assert access.exchange_enrolment(db, member["enrolment_token"])["staff_id"] == member["id"]


def test_only_staff_managers_issue_enrolment_tokens_and_only_at_their_partner(db, admin):
    partner_id, other_id = new_partner(db, admin), new_partner(db, admin)
    coordinator, _ = enrol(db, admin, partner_id, ["coordinator"])
    partner_admin, _ = enrol(db, admin, other_id, ["partner_admin"])
    with pytest.raises(Forbidden):
        access.issue_enrolment(db, live(db, coordinator), coordinator["staff_id"])
    with pytest.raises(NotFound):
        access.issue_enrolment(db, live(db, partner_admin), coordinator["staff_id"])


# Admin key rotation.

def test_rotating_the_admin_key_revokes_every_coalition_admin_key(scratch_database):
    database = scratch_database("registry")
    indexes.prepare(database)
    old, new = "rotate-old-" + "a" * 40, "rotate-new-" + "b" * 40
    access.bootstrap_admin(database, old)
    admin = access.authenticate(database, old)
    minted = access.issue_key(database, access.recheck(database, admin), admin["staff_id"])
    grandchild = access.issue_key(database, access.authenticate(database, minted["key"]), admin["staff_id"])
    # A second coalition admin (as an operator might have added one) and their key.
    second = {"_id": "second-admin", "partner_id": None, "name": "Two", "email": "two@coalition.invalid",
              "email_key": "two@coalition.invalid", "roles": ["coalition_admin"], "status": "active", "version": 1}
    database.staff.insert_one(second)
    access.store_key(database, second, "cmk_second00_" + "c" * 32, "cmk_second00", expires_at=None)

    rotated = access.bootstrap_admin(database, new)

    assert rotated["changed"] is True and len(rotated["revoked_ids"]) == 4
    for key in (old, minted["key"], grandchild["key"], "cmk_second00_" + "c" * 32):
        with pytest.raises(Unauthenticated):
            access.authenticate(database, key)
    assert access.authenticate(database, new)["roles"] == ["coalition_admin"]
    assert access.bootstrap_admin(database, new)["changed"] is False
    with pytest.raises(Conflict):
        access.bootstrap_admin(database, old)


# Finding 2: a demoted or erased partner admin created a partner-admin account and promoted itself back.

def test_a_demoted_partner_admin_is_rechecked_with_their_new_roles(db, admin):
    partner_id = new_partner(db, admin)
    first, _ = enrol(db, admin, partner_id, ["partner_admin"])
    second, _ = enrol(db, first, partner_id, ["partner_admin"])
    staff.update_staff(db, live(db, second), first["staff_id"], {"roles": ["coordinator"]})

    assert live(db, first)["roles"] == ["coordinator"]
    with pytest.raises(Forbidden):
        staff.add_staff(db, live(db, first), partner_id, {"name": "Sock", "email": "sock@x.example", "roles": ["partner_admin"]})
    with pytest.raises(Forbidden):
        staff.update_staff(db, live(db, first), first["staff_id"], {"roles": ["partner_admin"]})
    with pytest.raises(Forbidden):
        access.issue_enrolment(db, live(db, first), second["staff_id"])
    assert db.staff.find_one({"_id": first["staff_id"]})["roles"] == ["coordinator"]


def test_an_erased_admin_can_do_nothing_and_their_keys_and_tokens_are_dead(db, admin):
    partner_id = new_partner(db, admin)
    doomed, _ = enrol(db, admin, partner_id, ["partner_admin"])
    spare = mint(db, doomed)
    eraser, _ = enrol(db, admin, partner_id, ["partner_admin"])
    pending = staff.add_staff(db, live(db, doomed), partner_id,
                              {"name": "Pending", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["coordinator"]})

    erased = staff.erase_staff(db, live(db, eraser), doomed["staff_id"])

    assert set(erased["revoked_ids"]) == {doomed["key_id"], spare["id"]}
    with pytest.raises(Unauthenticated):
        live(db, doomed)
    with pytest.raises(Unauthenticated):
        access.authenticate(db, spare["key"])
    with pytest.raises(Unauthenticated):
        access.exchange_enrolment(db, pending["enrolment_token"])
    # Voided, not merely refused while the erasure lasts.
    outcomes = {u["_id"]: u["outcome"] for u in db.enrolments_used.find({})}
    unused = [e["_id"] for e in db.enrolments.find({"staff_id": {"$in": [doomed["staff_id"], pending["id"]]}})
              if outcomes.get(e["_id"]) != "exchanged"]
    assert len(unused) == 1 and all(outcomes.get(i) == "voided" for i in unused)
    # An erased member is gone for every change: 404, not a silent 200.
    with pytest.raises(NotFound):
        staff.update_staff(db, live(db, eraser), doomed["staff_id"], {"roles": ["partner_admin"]})
    with pytest.raises(NotFound):
        staff.erase_staff(db, live(db, eraser), doomed["staff_id"])
    with pytest.raises(NotFound):
        access.issue_enrolment(db, live(db, eraser), doomed["staff_id"])
    assert db.staff.find_one({"_id": doomed["staff_id"]})["status"] == "erased"


def test_an_erasure_racing_an_edit_stays_an_erasure(db, admin):
    """FerretDB rewrites the whole document on update: an unclaimed edit that read the member
    before the erasure would write them back, name, email and status."""
    partner_id = new_partner(db, admin)
    manager, _ = enrol(db, admin, partner_id, ["partner_admin"])
    for _ in range(10):
        member, _ = enrol(db, manager, partner_id, ["coordinator"])
        start = threading.Barrier(2)

        def edit():
            start.wait()
            try:
                staff.update_staff(db, live(db, manager), member["staff_id"], {"name": "Edited", "roles": ["partner_admin"]})
            except (Conflict, NotFound):
                pass  # the erasure got there first

        editor = threading.Thread(target=edit)
        editor.start()
        start.wait()
        staff.erase_staff(db, live(db, manager), member["staff_id"])
        editor.join()
        stored = db.staff.find_one({"_id": member["staff_id"]})
        assert (stored["status"], stored["name"]) == ("erased", "erased")
        with pytest.raises(Unauthenticated):
            live(db, member)


def test_a_suspended_partners_staff_can_do_nothing(db, admin):
    partner_id = new_partner(db, admin)
    member, _ = enrol(db, admin, partner_id, ["partner_admin"])
    pending = staff.add_staff(db, live(db, member), partner_id,
                              {"name": "Pending", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["coordinator"]})
    partners.set_partner_status(db, live(db, admin), partner_id, "suspended")
    with pytest.raises(Unauthenticated):
        live(db, member)
    with pytest.raises(Unauthenticated):
        access.issue_key(db, member, member["staff_id"])
    with pytest.raises(Unauthenticated):
        access.exchange_enrolment(db, pending["enrolment_token"])


def test_staff_updates_are_versioned(db, admin):
    partner_id = new_partner(db, admin)
    manager, _ = enrol(db, admin, partner_id, ["partner_admin"])
    member, _ = enrol(db, manager, partner_id, ["coordinator"])
    before = staff.get_staff(db, live(db, manager), member["staff_id"])
    changed = staff.update_staff(db, live(db, manager), member["staff_id"], {"name": "Renamed"}, before["version"])
    assert changed["version"] == before["version"] + 1
    with pytest.raises(PreconditionFailed):
        staff.update_staff(db, live(db, manager), member["staff_id"], {"name": "Again"}, before["version"])
    assert staff.get_staff(db, live(db, manager), member["staff_id"])["name"] == "Renamed"


# Finding 5: staff email was unique coalition-wide (an oracle) and compared case-sensitively.

def test_staff_email_is_unique_per_partner_and_compared_case_insensitively(db, admin):
    first, second = new_partner(db, admin), new_partner(db, admin)
    email = f"Ann.{uuid.uuid4().hex[:8]}@Shared.Example"
    payload = {"name": "Ann", "email": email, "roles": ["coordinator"]}
    staff.add_staff(db, live(db, admin), first, payload)
    staff.add_staff(db, live(db, admin), second, payload)
    with pytest.raises(Conflict) as taken:
        staff.add_staff(db, live(db, admin), first, dict(payload, email=email.lower()))
    assert list(taken.value.errors) == ["email"]
    with pytest.raises(Conflict):
        staff.add_staff(db, live(db, admin), first, dict(payload, email=email.upper()))
    # Case-folded, not just lower-cased: one address however its letters are written.
    staff.add_staff(db, live(db, admin), first, dict(payload, email=f"Strasse.{uuid.uuid4().hex[:4]}@x.example"))
    folded = staff.add_staff(db, live(db, admin), second, dict(payload, email=f"STRASSE.{uuid.uuid4().hex[:4]}@x.example"))
    with pytest.raises(Conflict):
        staff.add_staff(db, live(db, admin), second, dict(payload, email=folded["email"].replace("ss", "ß", 1)))


def test_existing_staff_get_email_keys_and_the_global_email_index_goes(scratch_database):
    database = scratch_database("registry")
    database.staff.create_index([("email", ASCENDING)], unique=True)
    database.staff.insert_many([
        {"_id": "a", "partner_id": "p1", "email": "Ann@X.example", "roles": ["analyst"], "status": "active"},
        {"_id": "b", "partner_id": "p1", "email": "ann@x.example", "roles": ["analyst"], "status": "active"},
        {"_id": "c", "partner_id": "p2", "email": "Ann@X.example ", "roles": ["analyst"], "status": "active"},
    ])
    indexes.prepare(database)
    indexes.prepare(database)  # every start runs it
    keys_by_id = {d["_id"]: d["email_key"] for d in database.staff.find({})}
    assert keys_by_id == {"a": "ann@x.example", "b": "ann@x.example#b", "c": "ann@x.example"}
    assert "email_1" not in database.staff.index_information()
    assert all(d["version"] == 1 for d in database.staff.find({}))
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        database.staff.insert_one({"partner_id": "p2", "email": "ANN@x.example", "email_key": "ann@x.example"})


# Enrolment must not reopen what key lineage closes.

def test_an_admin_cannot_enrol_themselves_or_take_over_a_working_colleague(db, admin):
    partner_id = new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    colleague, _ = enrol(db, partner_admin, partner_id, ["coordinator"])
    with pytest.raises(Conflict):
        access.issue_enrolment(db, live(db, partner_admin), partner_admin["staff_id"])
    with pytest.raises(Conflict):
        access.issue_enrolment(db, live(db, partner_admin), colleague["staff_id"])  # still holds a live key
    access.revoke_key(db, live(db, partner_admin), colleague["key_id"])  # the colleague sees this
    renewed = access.issue_enrolment(db, live(db, partner_admin), colleague["staff_id"])
    assert access.exchange_enrolment(db, renewed["enrolment_token"])["staff_id"] == colleague["staff_id"]


def test_a_demoted_admin_cannot_later_use_the_tokens_they_handed_out(db, admin):
    partner_id = new_partner(db, admin)
    partner_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    other_admin, _ = enrol(db, admin, partner_id, ["partner_admin"])
    accomplice = staff.add_staff(db, live(db, partner_admin), partner_id,
                                 {"name": "Accomplice", "email": f"{uuid.uuid4().hex[:8]}@x.example", "roles": ["partner_admin"]})
    staff.update_staff(db, live(db, other_admin), partner_admin["staff_id"], {"roles": ["coordinator"]})
    with pytest.raises(Unauthenticated):
        access.exchange_enrolment(db, accomplice["enrolment_token"])
