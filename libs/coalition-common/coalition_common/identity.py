"""Who is calling, as services learn it: a short-lived signed token in the RPC context headers.

The gateway resolves a bearer key to an identity and signs it with IDENTITY_SIGNING_KEY (a
secret every platform process holds, from the environment or a Kubernetes Secret). Services
verify the token before an entrypoint runs and never take an identity from call arguments, so a
process that can merely publish to the broker cannot claim to be anyone.

Operator commands that hold the secret (seeding the demo, bootstrapping the admin key) sign
identities of their own, marked `operator`.
"""
import hashlib
import hmac
import json
import os

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from coalition_common.errors import Unauthenticated
from coalition_common.policy import PLATFORM

# The header nameko carries in every RPC and event message as `nameko.identity`.
CONTEXT_KEY = "identity"
MAX_TOKEN_SECONDS = 60
# The gateway resolving keys is a platform principal, not staff.
GATEWAY = {"staff_id": "platform:gateway", "partner_id": None, "hub_id": None, "roles": [PLATFORM], "operator": True}
_SALT = "coalition-identity"
_MIN_SECRET_LENGTH = 32


class MissingSecret(RuntimeError):
    pass


def signing_secret():
    secret = os.environ.get("IDENTITY_SIGNING_KEY", "")
    if len(secret) < _MIN_SECRET_LENGTH:
        raise MissingSecret(f"IDENTITY_SIGNING_KEY must be set to at least {_MIN_SECRET_LENGTH} random characters")
    return secret


def token_seconds():
    """How long a signed identity is good for: IDENTITY_TOKEN_SECONDS, 30 by default, 60 at most."""
    return min(float(os.environ.get("IDENTITY_TOKEN_SECONDS", "30")), MAX_TOKEN_SECONDS)


def _serializer(secret=None):
    return URLSafeTimedSerializer(secret or signing_secret(), salt=_SALT, signer_kwargs={"digest_method": hashlib.sha256})


def sign(identity, secret=None):
    """A token carrying `identity`; it verifies for token_seconds() from now."""
    return _serializer(secret).dumps(identity)


def verify(token, secret=None):
    """The identity inside a token, or Unauthenticated for a missing, forged or expired one.
    The same message for each, so a caller learns nothing about which."""
    if not isinstance(token, str) or not token or len(token) > 4096:
        raise Unauthenticated("No valid caller identity.")
    try:
        identity = _serializer(secret).loads(token, max_age=token_seconds())
    except (SignatureExpired, BadSignature):
        raise Unauthenticated("No valid caller identity.")
    if not isinstance(identity, dict) or not isinstance(identity.get("roles"), list):
        raise Unauthenticated("No valid caller identity.")
    return identity


# Events are signed too, so a process that can publish to the broker cannot forge one.
EVENT_SIGNATURE_HEADER = "x-coalition-event-signature"


def _event_digest(source_service, event_type, payload, secret):
    # Over what the consumer knows independently (its subscription) and the body as JSON values,
    # so retries and replays through other exchanges still verify.
    text = "\n".join((source_service, event_type, json.dumps(payload, sort_keys=True, separators=(",", ":"))))
    return hmac.new((secret or signing_secret()).encode(), text.encode(), hashlib.sha256).hexdigest()


def event_headers(source_service, event_type, payload, secret=None):
    """The header that signs an event `source_service` publishes."""
    return {EVENT_SIGNATURE_HEADER: _event_digest(source_service, event_type, payload, secret)}


def verify_event(source_service, event_type, payload, signature, secret=None):
    """Unauthenticated unless `signature` is the platform's for exactly this event."""
    if not isinstance(signature, str) or not hmac.compare_digest(
            signature, _event_digest(source_service, event_type, payload, secret)):
        raise Unauthenticated("The event is not signed by the platform.")


def operator(name, roles=("coalition_admin",), partner_id=None):
    """An operator command's identity: trusted because only holders of the secret can sign it."""
    return {"staff_id": f"operator:{name}", "partner_id": partner_id, "hub_id": None, "roles": list(roles), "operator": True}
