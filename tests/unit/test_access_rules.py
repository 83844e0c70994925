"""Access rules that need no broker: cache lifetimes, rate limits, webhook targets and signatures."""
import datetime
import hashlib
import hmac

import pytest

from gateway import auth, create_app
from registry import webhooks
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
    cache.put("expired", dict(IDENTITY, expires_at=past))
    cache.put("lasting", IDENTITY)
    assert cache.get("expired") is None
    assert cache.get("lasting") == IDENTITY


class OneIdentityRpc:
    amqp_uri = "memory://"

    def call(self, service, method, *args, **kwargs):
        if method == "authenticate":
            return IDENTITY
        return {"staff": {}, "partner": None, "roles": ["coordinator"]}


def test_rate_limit_answers_429_with_retry_after():
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = OneIdentityRpc()
    app.extensions["rate_limiter"] = auth.RateLimiter(per_minute=3)
    client = app.test_client()
    statuses = [client.get("/api/v1/me", headers={"Authorization": "Bearer k"}).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get("/api/v1/me", headers={"Authorization": "Bearer k"})
    assert limited.mimetype == "application/problem+json"
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    # Another key has its own allowance.
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer other"}).status_code == 200


def test_wrong_role_is_refused_before_the_body_is_read():
    app = create_app({"TESTING": True})
    app.extensions["rpc"] = OneIdentityRpc()
    response = app.test_client().post("/api/v1/partners", data="{not json", headers={"Authorization": "Bearer k", "Content-Type": "application/json"})
    assert response.status_code == 403


@pytest.mark.parametrize("url", ["https://127.0.0.1/x", "https://10.1.2.3/x", "https://169.254.169.254/latest", "https://[::1]/x", "https://localhost/x"])
def test_webhooks_cannot_target_internal_addresses(monkeypatch, url):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    assert webhooks.check_target(url) is not None


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    body = '{"id":"e1"}'
    assert webhooks.sign("whsec_x", "1700000000", body) == hmac.new(b"whsec_x", b"1700000000." + body.encode(), hashlib.sha256).hexdigest()


def test_backoff_grows_and_is_capped():
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3)] == [5, 10, 20]
    assert webhooks.backoff_seconds(30) == 3600


def test_hub_staff_read_across_the_hub_but_write_only_their_own():
    hub_staff = {"partner_id": "hub", "hub_id": "hub", "roles": ["analyst"]}
    member_staff = {"partner_id": "ngo", "hub_id": "hub", "roles": ["coordinator"]}
    assert readable_partner_query(hub_staff) == {"$or": [{"_id": "hub"}, {"hub_id": "hub"}]}
    assert readable_partner_query(member_staff) == {"_id": "ngo"}
    assert writable(hub_staff, "hub") and not writable(hub_staff, "ngo")
