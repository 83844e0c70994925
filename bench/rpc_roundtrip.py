"""RPC round-trip time: straight to a service over AMQP, and through the gateway over HTTP.

Needs a running platform (`make up`). Prints medians, p95s and the gateway/direct ratio.
    .venv/bin/python bench/rpc_roundtrip.py [--calls 300]
"""
import argparse
import json
import os
import pathlib
import platform
import statistics
import time

import requests
from nameko.standalone.rpc import ClusterRpcClient

from gateway.rpc import HeldClusterRpcClient

ROOT = pathlib.Path(__file__).resolve().parent.parent


def timed(call, count):
    samples = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return {"median_ms": statistics.median(samples), "p95_ms": samples[int(len(samples) * 0.95) - 1], "calls": count}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--gateway", default=f"http://127.0.0.1:{os.environ.get('GATEWAY_PORT', '8080')}")
    args = parser.parse_args()

    credentials = json.loads((ROOT / "var" / "demo-credentials.json").read_text())
    key = credentials[0]["key"]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"

    amqp_uri = os.environ.get("AMQP_URI", "pyamqp://guest:guest@127.0.0.1:5672/")
    with ClusterRpcClient(uri=amqp_uri, timeout=5) as rpc:
        rpc.registry.health()  # warm up
        direct = timed(rpc.registry.health, args.calls)
    # The gateway's own client: one held reply connection, transient requests.
    with HeldClusterRpcClient(uri=amqp_uri, timeout=5, delivery_mode=1) as rpc:
        rpc.registry.health()
        held = timed(rpc.registry.health, args.calls)

    def through_gateway():
        response = session.get(args.gateway + "/api/v1/me", timeout=5)
        response.raise_for_status()

    through_gateway()  # warm up: fills the gateway's identity cache and RPC pool
    gateway = timed(through_gateway, args.calls)

    print(f"machine: {platform.node()} {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"stock nameko client registry.health  median {direct['median_ms']:.2f} ms  p95 {direct['p95_ms']:.2f} ms  ({direct['calls']} calls)")
    print(f"gateway's RPC client registry.health median {held['median_ms']:.2f} ms  p95 {held['p95_ms']:.2f} ms  ({held['calls']} calls)")
    print(f"ratio stock/gateway client (median)  {direct['median_ms'] / held['median_ms']:.2f}")
    print(f"gateway GET /api/v1/me (1 RPC)       median {gateway['median_ms']:.2f} ms  p95 {gateway['p95_ms']:.2f} ms  ({gateway['calls']} calls)")
    print(f"ratio HTTP /me / RPC health (median) {gateway['median_ms'] / held['median_ms']:.2f}")


if __name__ == "__main__":
    main()
