"""The coalition gateway: the HTTP API that partner staff use."""
import http
import json
import os

from flask import Flask, current_app, send_from_directory
from flask_smorest import Api
from werkzeug.middleware.proxy_fix import ProxyFix

from coalition_common import lockouts
from gateway import auth, health, problems, ratelimit
from gateway.rpc import RpcPool


class ProblemApi(Api):
    """flask-smorest, with its HTTP errors rendered and documented as problem+json."""

    def handle_http_exception(self, error):
        return problems.from_http_exception(error)

    def _openapi_json(self):
        """The document, with nullable references written so that client generators keep the
        referenced type (apispec writes them as an untyped `anyOf` alternative)."""
        return current_app.response_class(json.dumps(typed_nullable_refs(self.spec.to_dict()), indent=2),
                                          mimetype="application/json")

    def _register_responses(self):
        # Every error response is documented with the shape and content type actually sent.
        from gateway.api.common import Problem

        for status in http.HTTPStatus:
            if status < 400:
                continue
            content = {problems.PROBLEM_JSON: {"schema": Problem}}
            self.spec.components.response(status.name, {"description": status.phrase, "content": content}, lazy=True)
        self.spec.components.response(
            "DEFAULT_ERROR", {"description": "A problem (RFC 9457)", "content": {problems.PROBLEM_JSON: {"schema": Problem}}}, lazy=True
        )


def typed_nullable_refs(node):
    """`anyOf: [{type: object, nullable: true}, {$ref: X}]` becomes `allOf: [{$ref: X}], nullable: true`."""
    if isinstance(node, list):
        return [typed_nullable_refs(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: typed_nullable_refs(value) for key, value in node.items()}
    choices = node.get("anyOf")
    if isinstance(choices, list) and len(choices) == 2 and {"type": "object", "nullable": True} in choices:
        (reference,) = [choice for choice in choices if "$ref" in choice] or [None]
        if reference is not None:
            node.pop("anyOf")
            node.update(allOf=[reference], nullable=True)
    return node


def create_app(test_config=None):
    app = Flask(__name__)
    app.config.from_mapping(
        API_TITLE="Coalition mentoring platform",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        # Served from the installed swagger-ui-bundle, so the docs work without internet access.
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        # No calls out to swagger.io's online validator from a partner's browser.
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None},
        API_SPEC_OPTIONS={
            # Every API operation takes a bearer key; /healthz and /readyz are outside the API.
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
        AMQP_URI=os.environ.get("AMQP_URI"),
        MAX_CONTENT_LENGTH=1024 * 1024,
    )
    if test_config:
        app.config.from_mapping(test_config)

    from coalition_common.tracing import configure_tracing

    if configure_tracing("gateway"):
        from nameko_opentelemetry import NamekoInstrumentor
        from opentelemetry.instrumentation.flask import FlaskInstrumentor

        FlaskInstrumentor().instrument_app(app, excluded_urls="healthz")
        NamekoInstrumentor().instrument(send_request_payloads=False, send_response_payloads=False, send_headers=False)

    # Behind N trusted reverse proxies the client is the Nth X-Forwarded-For entry from the right;
    # 0 (the default) means the connecting peer. Limits per client address depend on it.
    proxies = int(os.environ.get("TRUSTED_PROXIES", "0"))
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies)

    app.extensions["rpc"] = RpcPool(amqp_uri=app.config["AMQP_URI"])
    app.extensions["identity_cache"] = cache = auth.IdentityCache()
    app.extensions["limits"] = ratelimit.Limits()
    if app.config.get("WATCH_LOCKOUTS", not app.testing):
        cache.watcher = lockouts.Watcher(app.extensions["rpc"].amqp_uri, cache.clear).start()
    problems.init_app(app)

    api = ProblemApi(app)
    from gateway.api import audit, dead_letters, me, mentor_imports, mentors, partners, programs, staff, webhooks
    from gateway.api import mentees
    from gateway.api import matching_runs

    for blueprint in (me.bp, partners.bp, staff.bp, programs.bp, mentors.bp, mentor_imports.bp, mentees.bp, mentees.programs_bp, webhooks.bp, audit.bp, dead_letters.bp):
        api.register_blueprint(blueprint)
    api.register_blueprint(matching_runs.bp)
    from gateway.api import groups

    api.register_blueprint(groups.bp)
    app.register_blueprint(health.bp)

    from swagger_ui_bundle import swagger_ui_path

    @app.get("/api/docs/assets/<path:filename>")
    def docs_assets(filename):
        return send_from_directory(swagger_ui_path, filename)

    from gateway import cli

    cli.init_app(app)
    return app
