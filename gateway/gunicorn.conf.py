"""gunicorn settings for the gateway, from the environment."""
import os

from gunicorn.http import wsgi as _wsgi

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")
# Threads, not eventlet: the gateway never monkey-patches. Each thread borrows an RPC client.
worker_class = "gthread"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = 30
# gunicorn answers an over-long request line itself, in HTML; leave room for any URL the API
# documents (cursors are at most 200 characters) so such answers come from Flask as problems.
limit_request_line = 8190
graceful_timeout = 10
accesslog = "-"
# No query strings in the access log: they could carry search terms about people.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'


def _without_server_header(default_headers):
    """gunicorn names itself in a `Server` header on every response and has no setting to stop
    it; nobody needs to know what serves the API, so the header is left out."""

    def headers(response):
        return [line for line in default_headers(response) if not line.lower().startswith("server:")]

    headers.leaves_out_server = True
    return headers


# Read by the arbiter before it forks, so every worker inherits it; idempotent on reload (HUP).
if not getattr(_wsgi.Response.default_headers, "leaves_out_server", False):
    _wsgi.Response.default_headers = _without_server_header(_wsgi.Response.default_headers)
