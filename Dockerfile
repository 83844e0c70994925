# syntax=docker/dockerfile:1
# One image for the four nameko services and the Flask gateway. The command is chosen per
# component in docker-compose.yml and deploy/k8s/, for example:
#   registry:  workdir /app/services/registry -> nameko run --config config.yml registry.service:RegistryService
#   gateway:   workdir /app/gateway           -> gunicorn -c gunicorn.conf.py "gateway:create_app()"
# Build from the repository root:  docker build -t coalition/platform:dev .

ARG PYTHON_IMAGE=python:3.11-slim

# ---- build: a virtualenv with the six local packages, versions pinned by constraints.txt ----
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
# constraints first: the dependency layer is rebuilt only when versions or package metadata change.
COPY constraints.txt ./
COPY libs/ libs/
COPY services/ services/
COPY gateway/ gateway/
# Normal (non-editable) installs: the code lives in site-packages, compiled to .pyc at install time,
# so containers never need to write bytecode. requirements-dev.txt (test and bench tools) is not used.
RUN pip install -c constraints.txt \
        ./libs/coalition-common \
        ./services/registry ./services/mentor-bank ./services/matching ./services/reporting \
        ./gateway \
 && pip check

# ---- runtime ----
FROM ${PYTHON_IMAGE}
# gunicorn puts its control socket under XDG_RUNTIME_DIR; /tmp is the one writable place
# (an emptyDir in Kubernetes, where the root filesystem is read-only).
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    XDG_RUNTIME_DIR=/tmp \
    HEALTH_ADDRESS=0.0.0.0:8000 \
    GATEWAY_BIND=0.0.0.0:8080
# Fixed numeric ids so Kubernetes can verify runAsNonRoot / runAsUser: 10001.
RUN groupadd --system --gid 10001 coalition \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin coalition
COPY --from=build /opt/venv /opt/venv
# Only the run-time files that are not part of the installed packages: each service's nameko
# config and the gunicorn settings. Owned by root, read-only for the app user.
WORKDIR /app
COPY services/registry/config.yml    services/registry/config.yml
COPY services/mentor-bank/config.yml services/mentor-bank/config.yml
COPY services/matching/config.yml    services/matching/config.yml
COPY services/reporting/config.yml   services/reporting/config.yml
COPY gateway/gunicorn.conf.py        gateway/gunicorn.conf.py
# Fail the build, not the rollout, if a package is missing.
RUN python -W ignore -c "import coalition_common, registry.service, mentor_bank.service, matching.service, reporting.service, gateway"

USER 10001:10001
# 8000: a service's /healthz (HEALTH_ADDRESS); 8080: the gateway (GATEWAY_BIND).
EXPOSE 8000 8080
# Default: the gateway. Compose and Kubernetes set the command and working directory per component.
WORKDIR /app/gateway
CMD ["gunicorn", "-c", "gunicorn.conf.py", "gateway:create_app()"]
