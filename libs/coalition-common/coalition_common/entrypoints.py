"""RPC entrypoints that know who is calling.

`api(action)` replaces nameko's `rpc`: before any worker runs it verifies the signed identity in
the message's context headers and checks the action's roles in the access policy; a missing,
forged or expired identity is refused with Unauthenticated, a wrong role with Forbidden.
`Caller` injects the verified identity, so no entrypoint takes one from its arguments.
"""
from nameko.extensions import DependencyProvider
from nameko.messaging import decode_from_headers
from nameko.rpc import Rpc

from coalition_common import identity, policy
from coalition_common.errors import EXPECTED, Unauthenticated


class Api(Rpc):
    def __init__(self, action, **kwargs):
        policy.rule(action)  # an action missing from the policy fails at import, not at call time
        self.action = action
        kwargs.setdefault("expected_exceptions", EXPECTED)
        super().__init__(**kwargs)

    def handle_message(self, body, message):
        # Raised here, the error is sent back as the reply and no worker is spawned.
        caller = identity.verify(decode_from_headers(message.headers).get(identity.CONTEXT_KEY))
        policy.authorize(caller, self.action)
        super().handle_message(body, message)


api = Api.decorator


class CallerIdentity(dict):
    """A verified identity that also knows the policy action its worker performs."""

    action = None


class Caller(DependencyProvider):
    """The verified identity of an RPC worker's caller (None for timers and event handlers)."""

    def setup(self):
        identity.signing_secret()  # a service without the secret refuses to start

    def get_dependency(self, worker_ctx):
        if not isinstance(worker_ctx.entrypoint, Api):
            return None
        try:
            caller = CallerIdentity(identity.verify(worker_ctx.context_data.get(identity.CONTEXT_KEY)))
        except Unauthenticated:
            return None
        caller.action = worker_ctx.entrypoint.action
        return caller
