"""gunicorn settings for the gateway, from the environment."""
import os

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
