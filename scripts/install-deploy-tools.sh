#!/usr/bin/env bash
# Installs the deploy tooling that tests/deploy needs: kustomize, into <repo>/var/bin/kustomize.
# Built from source with the machine's Go through the Go module proxy (no prebuilt downloads).
# Idempotent: does nothing if the binary is already there and runs. Prints one line on success.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN_DIR="$ROOT/var/bin"
KUSTOMIZE="$BIN_DIR/kustomize"
# v5.8.2 is the newest kustomize whose go.mod (go 1.26.0) builds with the Go 1.26 on our machines;
# v5.8.3 asks for Go 1.27. Bump both together.
KUSTOMIZE_VERSION="v5.8.2"

if [ -x "$KUSTOMIZE" ] && have="$("$KUSTOMIZE" version 2>/dev/null)"; then
  echo "kustomize already installed: $KUSTOMIZE ($have)"
  exit 0
fi

command -v go >/dev/null 2>&1 || { echo "error: Go is needed to build kustomize" >&2; exit 1; }
mkdir -p "$BIN_DIR"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
# GOTOOLCHAIN=local: build with the installed Go, never fetch another toolchain behind our back.
if ! GOTOOLCHAIN=local GOBIN="$BIN_DIR" \
     go install "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION" >"$log" 2>&1; then
  cat "$log" >&2
  echo "error: building kustomize $KUSTOMIZE_VERSION failed" >&2
  exit 1
fi
have="$("$KUSTOMIZE" version 2>/dev/null)" || { echo "error: $KUSTOMIZE does not run" >&2; exit 1; }
echo "kustomize installed: $KUSTOMIZE ($have)"
