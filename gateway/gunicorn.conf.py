"""gunicorn settings for the gateway, from the environment."""
import os

bind = os.environ.get("GATEWAY_BIND", "127.0.0.1:8080")
# Threads, not eventlet: the gateway never monkey-patches. Each thread borrows an RPC client.
worker_class = "gthread"
workers = int(os.environ.get("GATEWAY_WORKERS", "2"))
threads = int(os.environ.get("GATEWAY_THREADS", "8"))
timeout = 30
graceful_timeout = 10
accesslog = "-"
# No query strings in the access log: they could carry search terms about people.
access_log_format = '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms rid=%({x-request-id}o)s'
