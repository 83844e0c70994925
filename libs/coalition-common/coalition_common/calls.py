"""Calls from one service to another, as a named identity.

Services take the caller's identity only from the signed token in the message headers
(coalition_common.identity). A service acting for someone (an RPC worker for its caller) or on its
own (a timer working for a partner, with an `identity.operator` identity) signs that identity into
the call's headers, so the called service applies the access policy to it exactly as to a call
from the gateway. Every call has a timeout (RPC_TIMEOUT, 5 s by default), as the gateway's do.

    calls = ServiceCalls()                       # in the service class
    self.calls("registry", "get_program", program_id, identity=self.caller)
"""
import eventlet
from nameko.exceptions import RpcTimeout
from nameko.rpc import Client, ClusterRpc

from coalition_common import config, identity as identities


class ServiceCalls(ClusterRpc):
    """Injects `call(service, method, *args, identity, timeout=None, **kwargs)`."""

    def get_dependency(self, worker_ctx):
        publish = self.publisher.publish
        register_for_reply = self.reply_listener.register_for_reply
        # The worker's context travels on (trace headers), with the identity of this call instead
        # of the worker's own caller.
        context = {key: value for key, value in worker_ctx.context_data.items() if key != identities.CONTEXT_KEY}

        def call(service, method, *args, identity, timeout=None, **kwargs):
            headers = dict(context, **{identities.CONTEXT_KEY: identities.sign(dict(identity))})
            client = Client(publish, register_for_reply, headers, service, method)
            reply = client.call_async(*args, **kwargs)
            try:
                with eventlet.Timeout(timeout or config.rpc_timeout(), RpcTimeout(f"{service}.{method}")):
                    return reply.result()
            except RpcTimeout:
                self.reply_listener.pending.pop(reply.correlation_id, None)  # a late reply is dropped
                raise

        return call
