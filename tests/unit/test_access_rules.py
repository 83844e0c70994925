"""Access rules that need no broker: the policy table and who enforces it, identity tokens,
cache lifetimes, webhook signatures."""
import datetime

import inspect
import pathlib

import pytest
from nameko.testing.services import worker_factory

from coalition_common import identity, policy
from coalition_common.entrypoints import Api
from coalition_common.errors import Unauthenticated
from gateway import auth, create_app
from matching.service import MatchingService
from mentor_bank.service import MentorBankService
from registry.service import RegistryService
from reporting.service import ReportingService
from registry.scope import readable_partner_query, writable

IDENTITY = {"staff_id": "s1", "partner_id": "p1", "hub_id": None, "roles": ["coordinator"], "key_id": "k1", "expires_at": None}


def test_identity_cache_never_exceeds_thirty_seconds(monkeypatch):
    monkeypatch.setenv("IDENTITY_CACHE_SECONDS", "3600")
    assert auth.IdentityCache().ttl == 30.0
    monkeypatch.delenv("IDENTITY_CACHE_SECONDS")
    assert auth.IdentityCache().ttl == 30.0


def test_a_cached_identity_does_not_outlive_its_key():
    cache = auth.IdentityCache(ttl=30)
    past = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=1)).isoformat()
    cache.put("expired", dict(IDENTITY, expires_at=past), cache.generation)
    cache.put("lasting", IDENTITY, cache.generation)
    assert cache.get("expired") is None
    assert cache.get("lasting") == IDENTITY


class OneIdentityRpc:
    amqp_uri = "memory://"

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            return IDENTITY
        return {"staff": {}, "partner": None, "roles": ["coordinator"]}


def test_an_identity_resolved_before_a_lock_out_is_not_cached_after_it():
    cache = auth.IdentityCache(ttl=30)
    generation = cache.generation  # a lookup starts
    cache.clear({"reason": "key.revoked"})  # the registry announces a revocation meanwhile
    cache.put("revoked-meanwhile", IDENTITY, generation)  # the lookup's answer may predate it
    assert cache.get("revoked-meanwhile") is None
    cache.put("after", IDENTITY, cache.generation)
    assert cache.get("after") == IDENTITY


def test_a_process_not_hearing_lock_outs_does_not_trust_its_cache():
    """While the broker connection of the lock-out watcher is down, a revocation could pass
    unheard: every request then asks the registry."""

    class Watcher:
        subscribed = True

    cache = auth.IdentityCache(ttl=30)
    cache.watcher = Watcher()
    cache.put("key", IDENTITY, cache.generation)
    assert cache.get("key") == IDENTITY
    Watcher.subscribed = False
    assert cache.get("key") is None


def test_wrong_role_is_refused_before_the_body_is_read():
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = OneIdentityRpc()
    response = app.test_client().post("/api/v1/partners", data="{not json", headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
    assert response.status_code == 403


def test_hub_staff_read_across_the_hub_but_write_only_their_own():
    hub_staff = {"partner_id": "hub", "hub_id": "hub", "roles": ["analyst"]}
    member_staff = {"partner_id": "ngo", "hub_id": "hub", "roles": ["coordinator"]}
    assert readable_partner_query(hub_staff) == {"$or": [{"_id": "hub"}, {"hub_id": "hub"}]}
    assert readable_partner_query(member_staff) == {"_id": "ngo"}
    assert writable(hub_staff, "hub") and not writable(hub_staff, "ngo")


SERVICES = (RegistryService, MentorBankService, MatchingService, ReportingService)
README = pathlib.Path(__file__).resolve().parents[2] / "README.md"


def entrypoints(service_cls):
    for name, method in inspect.getmembers(service_cls, inspect.isfunction):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            yield name, entrypoint


def test_every_rpc_but_health_is_an_action_of_the_policy():
    from nameko.rpc import Rpc

    for service_cls in SERVICES:
        for name, entrypoint in entrypoints(service_cls):
            if isinstance(entrypoint, Rpc) and name != "health":
                assert isinstance(entrypoint, Api) and entrypoint.action in policy.POLICY, (service_cls.name, name)


def test_privileged_registry_actions_act_as_the_caller_is_now_not_as_cached(monkeypatch):
    """Every privileged action asks registry.access.recheck first; a caller it refuses can do nothing."""
    from registry import access

    def refused(database, caller):
        raise Unauthenticated("revoked meanwhile")

    monkeypatch.setattr(access, "recheck", refused)
    privileged = [(name, ep) for name, ep in entrypoints(RegistryService)
                  if isinstance(ep, Api) and policy.rule(ep.action).privileged]
    assert len(privileged) >= 12
    for name, _ in privileged:
        service = worker_factory(RegistryService, caller=IDENTITY)
        method = getattr(service, name)
        required = [p for p in inspect.signature(method).parameters.values() if p.default is inspect.Parameter.empty]
        with pytest.raises(Unauthenticated):
            method(*["x"] * len(required))
        service.database.assert_not_called()


def test_every_api_route_checks_a_policy_action_with_the_policys_roles():
    app = create_app({"TESTING": True})
    open_routes = {"/api/v1/enrolments"}  # exchanging a token is how a key is first had
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1") or rule.rule in open_routes:
            continue
        view = app.view_functions[rule.endpoint]
        assert getattr(view, "action", None) in policy.POLICY, rule.rule
        assert view.allowed_roles == policy.rule(view.action).roles


def test_the_readme_shows_the_policy_table_as_enforced():
    assert policy.markdown_table() in README.read_text()


def test_signed_identities_expire_and_cannot_be_forged(monkeypatch):
    monkeypatch.setenv("IDENTITY_SIGNING_KEY", "k" * 40)
    token = identity.sign(IDENTITY)
    assert identity.verify(token)["staff_id"] == IDENTITY["staff_id"]
    with pytest.raises(Unauthenticated):
        identity.verify(identity.sign(IDENTITY, secret="another-secret-" + "x" * 30))
    tampered = token.replace(token.split(".")[0], token.split(".")[0][:-2] + "AA")
    with pytest.raises(Unauthenticated):
        identity.verify(tampered)
    monkeypatch.setenv("IDENTITY_TOKEN_SECONDS", "3600")
    assert identity.token_seconds() == identity.MAX_TOKEN_SECONDS


def test_privileged_registry_actions_check_the_roles_held_now_not_those_cached(monkeypatch):
    """A partner admin demoted a moment ago still carries the old roles in the gateway's identity;
    the registry acts on the roles the database holds now."""
    from coalition_common.entrypoints import CallerIdentity
    from coalition_common.errors import Forbidden
    from registry import access

    checked = 0
    for name, entrypoint in entrypoints(RegistryService):
        if not isinstance(entrypoint, Api) or not policy.rule(entrypoint.action).privileged:
            continue
        rule = policy.rule(entrypoint.action)
        demoted_to = [role for role in policy.ROLES if role not in rule.roles]
        if not demoted_to:
            continue  # every role may do it
        monkeypatch.setattr(access, "recheck", lambda database, caller: dict(caller, roles=demoted_to[:1]))
        caller = CallerIdentity(IDENTITY, roles=list(rule.roles))
        caller.action = entrypoint.action
        service = worker_factory(RegistryService, caller=caller)
        method = getattr(service, name)
        required = [p for p in inspect.signature(method).parameters.values() if p.default is inspect.Parameter.empty]
        with pytest.raises(Forbidden):
            method(*["x"] * len(required))
        checked += 1
    assert checked >= 10
