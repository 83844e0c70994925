"""Offline checks of the deployment files: deploy/k8s (Kubernetes, kustomize base), docker-compose.yml,
the Dockerfile and .dockerignore.

Kubernetes documents are validated with kubernetes-validate's bundled schemas in strict mode (unknown
fields fail); docker-compose.yml against the Compose Specification schema that check-jsonschema
vendors. `kustomize build` needs var/bin/kustomize: run scripts/install-deploy-tools.sh once.
No cluster, Docker daemon or network is used.
"""
import functools
import json
import os
import re
import shlex
import subprocess
from importlib.resources import files
from pathlib import Path

import jsonschema
import kubernetes_validate
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S_DIR = ROOT / "deploy" / "k8s"
KUSTOMIZE = ROOT / "var" / "bin" / "kustomize"
COMPOSE_FILE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"

# The oldest Kubernetes minor we target and a current one; both ship with kubernetes-validate.
K8S_VERSIONS = ("1.30", "1.35")

SERVICES = {
    # component -> (working directory in the image, nameko module:Class)
    "registry": ("/app/services/registry", "registry.service:RegistryService"),
    "mentor-bank": ("/app/services/mentor-bank", "mentor_bank.service:MentorBankService"),
    "matching": ("/app/services/matching", "matching.service:MatchingService"),
    "reporting": ("/app/services/reporting", "reporting.service:ReportingService"),
}
COMPONENTS = set(SERVICES) | {"gateway"}
SECRET_TEMPLATE = "secret-template.yaml"


# ---------------------------------------------------------------------------------------------
# helpers


def load_documents(text):
    return [doc for doc in yaml.safe_load_all(text) if doc is not None]


def manifest_files():
    return sorted(p for p in K8S_DIR.glob("*.yaml") if p.name != "kustomization.yaml")


def validate_k8s(doc):
    """Validate one document against every targeted version; return a list of error strings."""
    problems = []
    for version in K8S_VERSIONS:
        try:
            kubernetes_validate.validate(doc, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            where = "/".join(str(p) for p in exc.path)
            problems.append(f"k8s {version}: {doc.get('kind')}/{doc.get('metadata', {}).get('name')}: "
                            f"{where}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            problems.append(f"k8s {version}: {exc.message}")
    return problems


def by_kind(docs, kind):
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(workload):
    return workload["spec"]["template"]["spec"]


def named_port(container, port):
    """Resolve a probe/Service port (number or container port name) to a number."""
    if isinstance(port, int):
        return port
    for p in container.get("ports", []):
        if p.get("name") == port:
            return p["containerPort"]
    raise AssertionError(f"container {container['name']} has no port named {port!r}")


def selects(selector, labels):
    """Whether a label selector (matchLabels/matchExpressions) matches the given labels."""
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    for expr in selector.get("matchExpressions") or []:
        present = expr["key"] in labels
        value = labels.get(expr["key"])
        op = expr["operator"]
        if op == "In" and value not in expr["values"]:
            return False
        if op == "NotIn" and present and value in expr["values"]:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


ANYONE = "<anyone>"


def peer_apps(peer):
    """The `app` label values a NetworkPolicy peer admits; {ANYONE} for any peer that is not
    an explicit list of apps in this namespace (ipBlock, namespaceSelector, podSelector: {},
    or a selector on other labels - counted as wider on purpose, so the checks stay strict)."""
    if "ipBlock" in peer or "namespaceSelector" in peer:
        return {ANYONE}
    selector = peer.get("podSelector") or {}
    match = selector.get("matchLabels") or {}
    exprs = selector.get("matchExpressions") or []
    if set(match) - {"app"} or any(e["key"] != "app" or e["operator"] != "In" for e in exprs):
        return {ANYONE}
    if not match and not exprs:
        return {ANYONE}
    candidates = ([{match["app"]}] if "app" in match else []) + [set(e["values"]) for e in exprs]
    return set.intersection(*candidates)


def ingress_allowed(policies, target_labels):
    """port -> set of app labels allowed in, over every policy that selects pods with
    target_labels. A rule without ports counts for port '*'; a rule without peers admits ANYONE."""
    allowed = {}
    for policy in policies.values():
        spec = policy["spec"]
        if not selects(spec.get("podSelector") or {}, target_labels):
            continue
        for rule in spec.get("ingress") or []:
            peers = rule.get("from")
            apps = set().union(*(peer_apps(p) for p in peers)) if peers else {ANYONE}
            ports = rule.get("ports") or [{"port": "*"}]
            for p in ports:
                start = p.get("port", "*")
                if "endPort" in p:
                    for n in range(start, p["endPort"] + 1):
                        allowed.setdefault(n, set()).update(apps)
                else:
                    allowed.setdefault(start, set()).update(apps)
    return allowed


# ---------------------------------------------------------------------------------------------
# fixtures


@functools.lru_cache(maxsize=1)
def _kustomize_build():
    result = subprocess.run([str(KUSTOMIZE), "build", str(K8S_DIR)], capture_output=True, text=True,
                            timeout=120)
    return result.returncode, result.stdout, result.stderr


def render():
    """The documents of `kustomize build deploy/k8s` (built once per session). Called from inside
    each test, so a missing kustomize makes the tests FAIL (not error out or skip)."""
    if not (KUSTOMIZE.is_file() and os.access(KUSTOMIZE, os.X_OK)):
        pytest.fail(f"kustomize is missing at {KUSTOMIZE.relative_to(ROOT)}: "
                    "run scripts/install-deploy-tools.sh to build it, then run the tests again")
    returncode, stdout, stderr = _kustomize_build()
    assert returncode == 0, f"kustomize build failed:\n{stderr}"
    docs = load_documents(stdout)
    assert docs, "kustomize build produced no documents"
    return docs


@pytest.fixture(scope="session")
def secret_template():
    return by_kind(load_documents((K8S_DIR / SECRET_TEMPLATE).read_text()), "Secret")


@pytest.fixture(scope="session")
def compose():
    return yaml.safe_load(COMPOSE_FILE.read_text())


@pytest.fixture(scope="session")
def compose_schema():
    # check-jsonschema vendors the Compose Specification schema (from compose-spec/compose-spec).
    schema = json.loads(files("check_jsonschema.builtin_schemas.vendor")
                        .joinpath("compose-spec.json").read_text())
    assert schema.get("title") == "Compose Specification"
    return schema


# ---------------------------------------------------------------------------------------------
# Kubernetes: the files as written


def test_strict_validation_rejects_unknown_fields():
    """Guards the guard: a misspelt field must fail, or the schema checks below prove nothing."""
    deployment = yaml.safe_load((K8S_DIR / "gateway.yaml").read_text().split("\n---\n")[1])
    assert deployment["kind"] == "Deployment"
    assert validate_k8s(deployment) == []
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    assert validate_k8s(deployment), "strict validation accepted an unknown field"


@pytest.mark.parametrize("path", manifest_files(), ids=lambda p: p.name)
def test_manifest_file_validates(path):
    docs = load_documents(path.read_text())
    assert docs, f"{path.name} holds no document"
    problems = [msg for doc in docs for msg in validate_k8s(doc)]
    assert problems == []


def test_kustomization_lists_every_manifest_but_the_secret_template():
    kustomization = yaml.safe_load((K8S_DIR / "kustomization.yaml").read_text())
    listed = kustomization["resources"]
    assert len(listed) == len(set(listed)), "a resource is listed twice"
    on_disk = {p.name for p in manifest_files()}
    assert set(listed) == on_disk - {SECRET_TEMPLATE}
    assert SECRET_TEMPLATE not in listed, "placeholder Secrets must never be deployed"
    assert kustomization["labels"][0]["pairs"], "common labels are missing"


def test_secret_template_holds_only_placeholders(secret_template):
    assert secret_template, "secret-template.yaml defines no Secret"
    for name, secret in secret_template.items():
        assert "data" not in secret, f"{name}: use stringData placeholders, never encoded data"
        for key, value in secret["stringData"].items():
            if key == "username":
                continue
            assert "REPLACE_ME" in value, f"{name}.{key} must be a REPLACE_ME placeholder"


# ---------------------------------------------------------------------------------------------
# Kubernetes: the rendered base


def test_rendered_output_validates():
    rendered = render()
    problems = [msg for doc in rendered for msg in validate_k8s(doc)]
    assert problems == []


def test_rendered_output_has_no_secret_and_every_reference_resolves(secret_template):
    rendered = render()
    assert not [d for d in rendered if d["kind"] == "Secret"], "the base must not ship Secrets"
    configmaps = by_kind(rendered, "ConfigMap")
    refs = []
    for workload in [d for d in rendered if d["kind"] in ("Deployment", "StatefulSet", "Job")]:
        spec = pod_spec(workload)
        for c in spec.get("initContainers", []) + spec["containers"]:
            for env in c.get("env", []):
                source = env.get("valueFrom", {})
                if "secretKeyRef" in source:
                    refs.append(("secret", source["secretKeyRef"]["name"], source["secretKeyRef"]["key"]))
                if "configMapKeyRef" in source:
                    refs.append(("configmap", source["configMapKeyRef"]["name"], source["configMapKeyRef"]["key"]))
            for env_from in c.get("envFrom", []):
                assert env_from["configMapRef"]["name"] in configmaps
        for volume in spec.get("volumes", []):
            if "secret" in volume:
                for item in volume["secret"]["items"]:
                    refs.append(("secret", volume["secret"]["secretName"], item["key"]))
            if "configMap" in volume:
                assert volume["configMap"]["name"] in configmaps
    assert refs
    for kind, name, key in refs:
        if kind == "secret":
            assert key in secret_template.get(name, {}).get("stringData", {}), \
                f"Secret {name}/{key} is used but not described in {SECRET_TEMPLATE}"
        else:
            assert key in configmaps[name]["data"]


def test_a_deployment_and_service_per_component():
    rendered = render()
    deployments = by_kind(rendered, "Deployment")
    assert set(deployments) == COMPONENTS
    services = by_kind(rendered, "Service")
    for name, deployment in deployments.items():
        assert name in services, f"no Service for {name}"
        assert selects({"matchLabels": services[name]["spec"]["selector"]},
                       deployment["spec"]["template"]["metadata"]["labels"])
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/part-of"] == "coalition"


def test_deployments_are_hardened_and_sized():
    rendered = render()
    accounts = by_kind(rendered, "ServiceAccount")
    for name, deployment in by_kind(rendered, "Deployment").items():
        spec = pod_spec(deployment)
        assert spec.get("automountServiceAccountToken") is False, name
        account = spec.get("serviceAccountName")
        assert account == name and accounts[account].get("automountServiceAccountToken") is False
        pod_security = spec.get("securityContext", {})
        for c in spec["containers"]:
            where = f"{name}/{c['name']}"
            assert "livenessProbe" in c and "readinessProbe" in c, f"{where}: probes missing"
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(c.get("resources", {}).get(kind, {})), \
                    f"{where}: resources.{kind} needs cpu and memory"
            security = {**pod_security, **c.get("securityContext", {})}
            assert security.get("runAsNonRoot") is True, f"{where}: runAsNonRoot"
            assert security.get("runAsUser") == 10001, f"{where}: runAsUser"
            assert security.get("allowPrivilegeEscalation") is False, f"{where}: allowPrivilegeEscalation"
            assert security.get("readOnlyRootFilesystem") is True, f"{where}: readOnlyRootFilesystem"
            assert security.get("capabilities", {}).get("drop") == ["ALL"], f"{where}: capabilities"
            assert c["image"].startswith("coalition/platform"), where


def test_probes_hit_the_health_endpoints():
    rendered = render()
    deployments = by_kind(rendered, "Deployment")
    for name in SERVICES:
        c = pod_spec(deployments[name])["containers"][0]
        for probe, path in (("livenessProbe", "/livez"), ("readinessProbe", "/healthz")):
            get = c[probe]["httpGet"]
            assert (get["path"], named_port(c, get["port"])) == (path, 8000), f"{name} {probe}"
        env = {e["name"]: e.get("value") for e in c["env"]}
        assert env["HEALTH_ADDRESS"] == "0.0.0.0:8000"
    c = pod_spec(deployments["gateway"])["containers"][0]
    live, ready = c["livenessProbe"]["httpGet"], c["readinessProbe"]["httpGet"]
    assert (live["path"], named_port(c, live["port"])) == ("/healthz", 8080)
    assert (ready["path"], named_port(c, ready["port"])) == ("/readyz", 8080)
    assert {e["name"]: e.get("value") for e in c["env"]}["GATEWAY_BIND"] == "0.0.0.0:8080"


def test_commands_match_the_image_layout():
    """Each Deployment runs the documented command from a directory the Dockerfile creates."""
    rendered = render()
    copied = dockerfile_copy_destinations()
    deployments = by_kind(rendered, "Deployment")
    for name, (workdir, target) in SERVICES.items():
        c = pod_spec(deployments[name])["containers"][0]
        assert c["workingDir"] == workdir
        assert c["command"] == ["nameko", "run", "--config", "config.yml", target]
        assert f"{workdir}/config.yml" in copied, f"the image has no {workdir}/config.yml"
    c = pod_spec(deployments["gateway"])["containers"][0]
    assert c["workingDir"] == "/app/gateway"
    assert c["command"] == ["gunicorn", "-c", "gunicorn.conf.py", "gateway:create_app()"]
    assert "/app/gateway/gunicorn.conf.py" in copied


def test_every_component_gets_mongo_and_the_signing_key():
    rendered = render()
    configmaps = by_kind(rendered, "ConfigMap")

    def env_names(container):
        names = {e["name"] for e in container.get("env", [])}
        for env_from in container.get("envFrom", []):
            names |= set(configmaps[env_from["configMapRef"]["name"]]["data"])
        return names

    for name, deployment in by_kind(rendered, "Deployment").items():
        names = env_names(pod_spec(deployment)["containers"][0])
        assert {"AMQP_URI", "DB_NAMESPACE", "RPC_TIMEOUT", "OTEL_SERVICE_NAME"} <= names, name
        # The gateway's database holds only the request counts its pods share.
        assert "MONGO_URI" in names, name
        assert "IDENTITY_SIGNING_KEY" in names, name
        assert ("WEBHOOK_SECRET_KEY" in names) == (name == "registry"), name


def test_autoscalers_and_disruption_budgets():
    rendered = render()
    deployments = by_kind(rendered, "Deployment")
    hpas = [d for d in rendered if d["kind"] == "HorizontalPodAutoscaler"]
    assert all(h["apiVersion"] == "autoscaling/v2" for h in hpas)
    targets = {h["spec"]["scaleTargetRef"]["name"]: h for h in hpas}
    assert set(targets) == {"gateway", "matching"}
    for name, hpa in targets.items():
        assert hpa["spec"]["scaleTargetRef"]["kind"] == "Deployment"
        assert 2 <= hpa["spec"]["minReplicas"] < hpa["spec"]["maxReplicas"]
        assert "replicas" not in deployments[name]["spec"], f"{name}: the HPA owns replicas"
    pdbs = [d for d in rendered if d["kind"] == "PodDisruptionBudget"]
    assert all(p["apiVersion"] == "policy/v1" for p in pdbs)
    for app in COMPONENTS | {"mongo", "rabbitmq"}:
        assert any(selects(p["spec"]["selector"], {"app": app}) for p in pdbs), f"no PDB for {app}"


def test_network_policies_isolate_mongo_and_rabbitmq():
    rendered = render()
    policies = by_kind(rendered, "NetworkPolicy")
    default_deny = [p for p in policies.values()
                    if p["spec"]["podSelector"] == {} and "Ingress" in p["spec"]["policyTypes"]
                    and not p["spec"].get("ingress")]
    assert default_deny, "no default-deny ingress policy"

    mongo = ingress_allowed(policies, {"app": "mongo"})
    assert set(mongo) == {27017}, f"MongoDB opens unexpected ports: {sorted(mongo, key=str)}"
    # the four services and the gateway (its own database of shared request counts), plus the
    # replica-set members themselves and the rs.initiate Job
    assert mongo[27017] == set(SERVICES) | {"gateway", "mongo", "mongo-rs-init"}

    rabbit = ingress_allowed(policies, {"app": "rabbitmq"})
    assert ANYONE not in set().union(*rabbit.values())
    assert rabbit[5672] == set(SERVICES) | {"gateway", "bootstrap-admin", "rabbitmq"}
    for port, apps in rabbit.items():
        if port != 5672:
            assert apps == {"rabbitmq"}, f"RabbitMQ port {port} is open to {apps}"

    gateway = ingress_allowed(policies, {"app": "gateway"})
    assert gateway.get(8080) == {ANYONE}
    for name in SERVICES:
        assert ingress_allowed(policies, {"app": name}) == {}, f"{name} accepts ingress"


def test_mongo_replica_set():
    rendered = render()
    mongo = by_kind(rendered, "StatefulSet")["mongo"]
    assert mongo["spec"]["replicas"] == 3
    assert mongo["spec"]["volumeClaimTemplates"]
    headless = by_kind(rendered, "Service")[mongo["spec"]["serviceName"]]
    assert headless["spec"]["clusterIP"] == "None"
    assert "--replSet=rs0" in pod_spec(mongo)["containers"][0]["command"]
    jobs = by_kind(rendered, "Job")
    init_script = " ".join(pod_spec(jobs["mongo-rs-init"])["containers"][0]["command"])
    assert "rs.initiate" in init_script
    for n in range(3):
        assert f"mongo-{n}.mongo:27017" in init_script
    uri = by_kind(rendered, "ConfigMap")["coalition-mongo"]["data"]["MONGO_URI"]
    assert "replicaSet=rs0" in uri and all(f"mongo-{n}.mongo" in uri for n in range(3))


def test_rabbitmq_cluster():
    rendered = render()
    rabbit = by_kind(rendered, "StatefulSet")["rabbitmq"]
    assert rabbit["spec"]["replicas"] == 3
    assert rabbit["spec"]["volumeClaimTemplates"]
    assert by_kind(rendered, "Service")[rabbit["spec"]["serviceName"]]["spec"]["clusterIP"] == "None"
    config = by_kind(rendered, "ConfigMap")["rabbitmq-config"]["data"]
    settings = dict(
        tuple(part.strip() for part in line.split("=", 1))
        for line in config["coalition.conf"].splitlines()
        if "=" in line and not line.lstrip().startswith("#")
    )
    assert settings["default_queue_type"] == "quorum"
    assert settings["cluster_formation.peer_discovery_backend"] == "rabbit_peer_discovery_k8s"
    assert settings["cluster_formation.k8s.service_name"] == rabbit["spec"]["serviceName"]
    assert "rabbitmq_peer_discovery_k8s" in config["enabled_plugins"]
    # peer discovery reads endpoints through the API with the pod's ServiceAccount
    account = pod_spec(rabbit)["serviceAccountName"]
    bindings = [b for b in rendered if b["kind"] == "RoleBinding"
                and any(s["kind"] == "ServiceAccount" and s["name"] == account for s in b["subjects"])]
    assert bindings
    roles = by_kind(rendered, "Role")
    rules = [r for b in bindings for r in roles[b["roleRef"]["name"]]["rules"]]
    assert any("endpoints" in r["resources"] and "get" in r["verbs"] for r in rules)


def test_bootstrap_admin_job():
    rendered = render()
    job = by_kind(rendered, "Job")["coalition-bootstrap-admin"]
    c = pod_spec(job)["containers"][0]
    assert c["command"] == ["flask", "--app", "gateway", "bootstrap-admin"]
    assert c["workingDir"] == "/app/gateway"
    key = next(e for e in c["env"] if e["name"] == "COALITION_ADMIN_KEY")
    assert "value" not in key and "secretKeyRef" in key["valueFrom"]
    assert job["spec"]["template"]["metadata"]["labels"]["app"] != "gateway"


def test_kustomize_is_a_v5_release():
    if not KUSTOMIZE.is_file():
        pytest.fail("kustomize is missing: run scripts/install-deploy-tools.sh")
    out = subprocess.run([str(KUSTOMIZE), "version"], capture_output=True, text=True, timeout=30).stdout
    assert re.match(r"v5\.\d+\.\d+", out.strip()), out


# ---------------------------------------------------------------------------------------------
# docker-compose.yml


def test_compose_validates_against_the_compose_specification(compose, compose_schema):
    validator_class = jsonschema.validators.validator_for(compose_schema)
    validator_class.check_schema(compose_schema)
    validator = validator_class(compose_schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(compose)]
    assert errors == []
    # and the schema does reject a misspelt key, so the check above means something
    broken = {**compose, "services": {**compose["services"], "gateway": {**compose["services"]["gateway"],
                                                                          "helthcheck": {}}}}
    assert list(validator.iter_errors(broken))


def test_compose_dependencies_wait_for_health(compose):
    services = compose["services"]
    with_deps = {n: s for n, s in services.items() if "depends_on" in s}
    assert set(COMPONENTS) <= set(with_deps)
    for name, service in with_deps.items():
        deps = service["depends_on"]
        assert isinstance(deps, dict), f"{name}: use the long depends_on form with conditions"
        for dep, condition in deps.items():
            assert condition.get("condition") == "service_healthy", f"{name} -> {dep}"
            assert "healthcheck" in services[dep], f"{name} waits on {dep}, which has no healthcheck"
    for name in SERVICES:
        assert set(services[name]["depends_on"]) >= {"mongo", "rabbitmq"}
    assert "mongo" not in services["gateway"]["depends_on"]


def test_compose_infrastructure(compose):
    services = compose["services"]
    mongo, rabbit = services["mongo"], services["rabbitmq"]
    assert re.fullmatch(r"mongo:7(\.\d+)*", mongo["image"])
    assert "mongosh" in mongo["healthcheck"]["test"] and "ping" in " ".join(mongo["healthcheck"]["test"])
    assert re.fullmatch(r"rabbitmq:3\.13[\w.-]*", rabbit["image"])
    assert rabbit["healthcheck"]["test"][1:] == ["rabbitmq-diagnostics", "-q", "ping"]
    collector = services["otel-collector"]
    assert collector["image"].startswith("otel/opentelemetry-collector")
    assert collector["profiles"] == ["tracing"]
    for service in services.values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"bind-mounted {source} does not exist"


def test_compose_python_components(compose):
    services = compose["services"]
    assert "8080:8080" in [str(p) for p in services["gateway"]["ports"]]
    for name in COMPONENTS:
        service = services[name]
        assert service["build"]["dockerfile"] == "Dockerfile" and service["build"]["context"] == "."
        assert "healthcheck" in service
        env = service["environment"]
        assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "http/protobuf"
        assert "MONGO_URI" in env, name
        assert env["IDENTITY_SIGNING_KEY"].startswith("${IDENTITY_SIGNING_KEY:?"), name
    for name, (workdir, target) in SERVICES.items():
        assert services[name]["working_dir"] == workdir
        assert services[name]["command"] == ["nameko", "run", "--config", "config.yml", target]
        assert services[name]["environment"]["HEALTH_ADDRESS"] == "0.0.0.0:8000"
    assert services["gateway"]["environment"]["GATEWAY_BIND"] == "0.0.0.0:8080"


def test_compose_has_no_literal_secrets(compose):
    admin = compose["services"]["bootstrap-admin"]
    assert admin["environment"]["COALITION_ADMIN_KEY"] == "${COALITION_ADMIN_KEY:-}"
    assert admin["command"] == ["flask", "--app", "gateway", "bootstrap-admin"]
    assert admin["working_dir"] == "/app/gateway"
    for name, service in compose["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"PASS|SECRET|KEY|TOKEN", key):
                assert str(value).startswith("${"), f"{name}.{key} must come from the environment"


# ---------------------------------------------------------------------------------------------
# Dockerfile and .dockerignore


def dockerfile_instructions():
    text = DOCKERFILE.read_text().replace("\\\n", " ")
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def dockerfile_copy_destinations():
    """Absolute paths that COPY instructions of the final stage create (WORKDIR-relative resolved)."""
    stages, current = [], []
    for line in dockerfile_instructions():
        if line.upper().startswith("FROM "):
            current = []
            stages.append(current)
        current.append(line)
    workdir, found = "/", set()
    for line in stages[-1]:
        word, _, rest = line.partition(" ")
        if word.upper() == "WORKDIR":
            workdir = rest.strip()
        elif word.upper() == "COPY":
            args = [a for a in shlex.split(rest) if not a.startswith("--")]
            dest = args[-1]
            found.add(dest if dest.startswith("/") else f"{workdir.rstrip('/')}/{dest}")
    return found


def test_dockerfile():
    lines = dockerfile_instructions()
    text = "\n".join(lines)
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim$", text, re.M)
    assert all(line.split()[1] == "${PYTHON_IMAGE}" for line in lines if line.startswith("FROM"))
    assert [line for line in lines if line.startswith("USER ")][-1] == "USER 10001:10001"
    assert "useradd" in text and "--uid 10001" in text
    assert "-c constraints.txt" in text
    for package in ["./libs/coalition-common", "./services/registry", "./services/mentor-bank",
                    "./services/matching", "./services/reporting", "./gateway"]:
        assert package in text
    assert "requirements-dev" not in text, "the image must not carry dev tools"


def test_dockerignore():
    entries = {line.strip().rstrip("/") for line in (ROOT / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")}
    assert {"var", ".venv", ".git", "tests"} <= entries
    # the build needs these: they must not be ignored
    assert not {"libs", "services", "gateway", "constraints.txt"} & entries
