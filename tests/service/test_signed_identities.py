"""Services trust no identity they are merely given: every RPC published to the broker with a
forged, missing or expired signed identity is refused before any worker runs."""
import time

import pytest

from coalition_common.errors import Forbidden, Unauthenticated
from coalition_common.identity import sign

from profiles import mentor_profile

pytestmark = pytest.mark.service

ADMIN = {"staff_id": "operator:test", "partner_id": None, "hub_id": None, "roles": ["coalition_admin"], "operator": True}
RECRUITER = {"staff_id": "s-1", "partner_id": "p-1", "hub_id": None, "roles": ["recruiter"], "key_id": "k-1"}
TOKEN_SECONDS = 3
MENTOR = mentor_profile(given_name="Forged", family_name="Mentor", email="forged@example.org")

# One call per service that would read or write data for an allowed caller.
CALLS = [
    ("registry", "list_partners", ()),
    ("registry", "register_partner", ({"name": "Forged Org", "kind": "ngo", "region": "CA-ON"},)),
    ("registry", "authenticate", ("cmk_00000000_whatever",)),
    ("mentor_bank", "search_mentors", ({},)),
    ("mentor_bank", "register_mentor", (MENTOR,)),
    ("matching", "count_mentees", ()),
    ("reporting", "coalition_counts", ()),
]


@pytest.fixture(scope="module")
def services(platform_factory):
    return platform_factory("identities", ("registry", "mentor_bank", "matching", "reporting"),
                            env={"IDENTITY_TOKEN_SECONDS": str(TOKEN_SECONDS)})


def caller_for(method):
    if method == "authenticate":
        return None  # the platform's own principal, as the gateway calls it
    return RECRUITER if method == "register_mentor" else ADMIN


def tokens(method):
    """A forged token (the right shape, signed with another secret) and none at all."""
    identity = caller_for(method) or ADMIN
    return {"forged": sign(identity, secret="not-the-platform-secret-" + "x" * 20), "missing": ""}


@pytest.mark.parametrize("service,method,args", CALLS, ids=[f"{c[0]}.{c[1]}" for c in CALLS])
@pytest.mark.parametrize("kind", ["forged", "missing"])
def test_forged_and_missing_identities_are_refused(services, service, method, args, kind):
    with pytest.raises(Unauthenticated):
        services.rpc(service, method, *args, token=tokens(method)[kind])


def test_expired_identities_are_refused_by_every_service(services):
    signed = {method: sign(caller_for(method) or {"staff_id": "platform:gateway", "roles": ["platform"]}) for _, method, _ in CALLS}
    time.sleep(TOKEN_SECONDS + 1.5)
    for service, method, args in CALLS:
        with pytest.raises(Unauthenticated):
            services.rpc(service, method, *args, token=signed[method])


def test_a_valid_identity_is_served_and_roles_are_checked_in_the_service(services):
    assert services.rpc("registry", "list_partners", identity=ADMIN)["items"] == []
    assert services.rpc("reporting", "coalition_counts", identity=ADMIN)
    # The service applies the policy's roles itself, whatever a gateway decided.
    with pytest.raises(Forbidden):
        services.rpc("registry", "register_partner", {"name": "Not Mine", "kind": "ngo", "region": "CA-ON"}, identity=RECRUITER)
    with pytest.raises(Forbidden):
        services.rpc("registry", "authenticate", "cmk_00000000_x", identity=ADMIN)
    assert services.database("registry").partners.count_documents({}) == 0
