"""Start and stop the four services and the gateway as background processes.

Used by `make up`/`make down` and by the end-to-end tests, so both run the platform the same
way. Each process runs in its own session; its pid is recorded, and only recorded pids are stopped.

    python scripts/stack.py start|stop|status
"""
import os
import pathlib
import signal
import subprocess
import sys
import time

ROOT = pathlib.Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"

# name: (working directory, command, health port offset)
COMPONENTS = {
    "registry": ("services/registry", ["nameko", "run", "--config", "config.yml", "registry.service:RegistryService"], 1),
    "mentor_bank": ("services/mentor-bank", ["nameko", "run", "--config", "config.yml", "mentor_bank.service:MentorBankService"], 2),
    "matching": ("services/matching", ["nameko", "run", "--config", "config.yml", "matching.service:MatchingService"], 3),
    "reporting": ("services/reporting", ["nameko", "run", "--config", "config.yml", "reporting.service:ReportingService"], 4),
    "gateway": ("gateway", ["gunicorn", "-c", "gunicorn.conf.py", "gateway:create_app()"], 0),
}
SERVICES = [name for name in COMPONENTS if name != "gateway"]


class Stack:
    """One running platform: its processes share an AMQP vhost and a database namespace."""

    def __init__(self, run_dir, log_dir, env=None, gateway_port=8080, health_base_port=8100, health_ports=None):
        self.run_dir = pathlib.Path(run_dir)
        self.log_dir = pathlib.Path(log_dir)
        self.env = dict(os.environ, **(env or {}))
        self.env.setdefault("PYTHONWARNINGS", "ignore::DeprecationWarning")
        self.gateway_port = gateway_port
        self.health_base_port = health_base_port
        self.health_ports = health_ports or {}
        self._children = {}  # processes this Stack started, so it can reap them
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)

    @property
    def gateway_url(self):
        return f"http://127.0.0.1:{self.gateway_port}"

    def health_address(self, name):
        port = self.health_ports.get(name, self.health_base_port + COMPONENTS[name][2])
        return f"127.0.0.1:{port}"

    def _pidfile(self, name):
        return self.run_dir / f"{name}.pid"

    def pid(self, name):
        try:
            pid = int(self._pidfile(name).read_text())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        # A zombie child still answers kill(0); it is not running.
        try:
            state = pathlib.Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state == "Z":
                return None
        except (FileNotFoundError, IndexError):
            return None
        return pid

    def start(self, name):
        if self.pid(name):
            return False
        workdir, command, _ = COMPONENTS[name]
        env = dict(self.env)
        if name == "gateway":
            env["GATEWAY_BIND"] = f"127.0.0.1:{self.gateway_port}"
        else:
            env["HEALTH_ADDRESS"] = self.health_address(name)
        # One OTEL_SERVICE_NAME cannot name five processes: each is named after itself.
        env["OTEL_SERVICE_NAME"] = name
        log = open(self.log_dir / f"{name}.log", "ab")
        process = subprocess.Popen(
            [str(BIN / command[0]), *command[1:]],
            cwd=ROOT / workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self._pidfile(name).write_text(str(process.pid))
        self._children[name] = process
        return True

    def stop(self, name, sig=signal.SIGTERM, wait=15.0):
        pid = self.pid(name)
        if pid is None:
            self._pidfile(name).unlink(missing_ok=True)
            return False
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait
        while self.pid(name) and time.monotonic() < deadline:
            self._reap(name)
            time.sleep(0.1)
        if self.pid(name):
            os.killpg(pid, signal.SIGKILL)
            time.sleep(0.2)
        self._reap(name)
        self._pidfile(name).unlink(missing_ok=True)
        return True

    def kill(self, name):
        """SIGKILL, as a crash would: no graceful shutdown, unacked messages go back to the queue."""
        return self.stop(name, sig=signal.SIGKILL, wait=5.0)

    def _reap(self, name):
        child = self._children.get(name)
        if child is not None:
            child.poll()

    def start_all(self):
        return [name for name in COMPONENTS if self.start(name)]

    def stop_all(self):
        return [name for name in reversed(list(COMPONENTS)) if self.stop(name)]


def main(argv):
    root_var = ROOT / "var"
    stack = Stack(root_var / "run", root_var / "log", gateway_port=int(os.environ.get("GATEWAY_PORT", "8080")))
    action = argv[1] if len(argv) > 1 else "status"
    if action == "start":
        started = stack.start_all()
        print("started: " + (", ".join(started) if started else "nothing (all running)"))
    elif action == "stop":
        stopped = stack.stop_all()
        print("stopped: " + (", ".join(stopped) if stopped else "nothing was running"))
    elif action == "status":
        for name in COMPONENTS:
            pid = stack.pid(name)
            print(f"{name}: {'running, pid %d' % pid if pid else 'stopped'}")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
