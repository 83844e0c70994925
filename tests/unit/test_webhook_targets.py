"""Where webhooks may be sent: public addresses on allowed ports, one answer for every refusal;
how deliveries are signed and retried; and the key that encrypts signing secrets."""
import hashlib
import hmac
import socket

import pytest
from cryptography.fernet import Fernet

from registry import webhooks

NAME = "hooks.partner.example"
REAL_GETADDRINFO = socket.getaddrinfo


@pytest.fixture(autouse=True)
def production_rules(monkeypatch):
    monkeypatch.delenv("WEBHOOK_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("WEBHOOK_PORTS", raising=False)


@pytest.fixture
def dns(monkeypatch):
    """A resolver for made-up names: `dns[name] = [addresses]`; a name not listed does not resolve.
    IP literals go to the real resolver (it answers them without asking DNS)."""
    answers = {}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host in answers:
            return [(socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
                    for a in answers[host]]
        return REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


REFUSED_ADDRESSES = [
    "127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0",
    "192.0.0.1", "192.0.0.8", "192.0.0.100", "198.18.0.1", "192.0.2.1", "192.88.99.1",  # special purpose, 6to4 relay
    "224.0.0.1", "239.1.1.1", "240.0.0.1", "255.255.255.255",                # multicast, reserved, broadcast
    "::1", "::", "fe80::1", "fc00::1", "fd12:3456::1", "fec0::1", "2001:db8::1", "3fff::1", "100::1",
    "ff02::1", "ff0e::1",                                                    # IPv6 multicast, even global scope
    "64:ff9b::a01:203", "64:ff9b::808:808", "64:ff9b:1::1",                  # NAT64: private and public inside
    "2002:a01:203::1", "2002:808:808::1",                                    # 6to4
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",                                  # Teredo
    "::ffff:127.0.0.1", "::ffff:10.0.0.1", "::ffff:169.254.169.254",         # IPv4-mapped
    "::127.0.0.1", "::8.8.8.8",                                              # IPv4-compatible (deprecated)
    "::ffff:0:7f00:1",                                                       # IPv4-translated
    "5f00::1", "4000::1",                                                    # reserved
]


@pytest.mark.parametrize("address", REFUSED_ADDRESSES)
def test_a_name_resolving_to_a_non_global_address_is_refused(dns, address):
    dns[NAME] = [address]
    assert webhooks.check_target(f"https://{NAME}/hook") == "The target is not allowed."


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"])
def test_a_name_resolving_to_public_addresses_is_allowed(dns, address):
    dns[NAME] = [address]
    assert webhooks.check_target(f"https://{NAME}/hook") is None


def test_an_ipv4_mapped_public_address_is_connected_to_as_ipv4(dns):
    dns[NAME] = ["::ffff:8.8.8.8"]
    assert webhooks.resolve_target(f"https://{NAME}/hook").address == "8.8.8.8"


@pytest.mark.parametrize("url", [
    "https://127.0.0.1/x", "https://10.1.2.3/x", "https://169.254.169.254/latest", "https://[::1]/x",
    "https://[64:ff9b::7f00:1]/x", "https://[2002:7f00:1::1]/x", "https://[::ffff:127.0.0.1]/x",
    "https://2130706433/x", "https://0x7f.1/x", "https://localhost/x",        # loopback spelled otherwise
])
def test_internal_addresses_written_into_the_url_are_refused(url):
    assert webhooks.check_target(url) == "The target is not allowed."


def test_one_internal_address_among_public_ones_is_enough_to_refuse(dns):
    dns[NAME] = ["8.8.8.8", "10.0.0.7"]
    assert webhooks.check_target(f"https://{NAME}/hook") == "The target is not allowed."


def test_every_refusal_reads_the_same_so_nothing_can_be_probed(dns):
    dns["public.partner.example"] = ["8.8.8.8"]
    dns["intranet.partner.example"] = ["10.0.0.5"]
    answers = {
        "unresolvable": webhooks.check_target("https://nowhere.partner.example/hook"),
        "private": webhooks.check_target("https://intranet.partner.example/hook"),
        "port": webhooks.check_target("https://public.partner.example:8443/hook"),
        "bad port": webhooks.check_target("https://public.partner.example:99999/hook"),
        "not https": webhooks.check_target("http://public.partner.example/hook"),
    }
    assert set(answers.values()) == {"The target is not allowed."}, answers


def test_only_port_443_unless_configured(dns, monkeypatch):
    dns[NAME] = ["8.8.8.8"]
    assert webhooks.check_target(f"https://{NAME}/hook") is None
    assert webhooks.check_target(f"https://{NAME}:443/hook") is None
    assert webhooks.check_target(f"https://{NAME}:8443/hook") == "The target is not allowed."
    assert webhooks.check_target(f"https://{NAME}:22/hook") == "The target is not allowed."
    monkeypatch.setenv("WEBHOOK_PORTS", "443, 8443")
    assert webhooks.check_target(f"https://{NAME}:8443/hook") is None
    assert webhooks.check_target(f"https://{NAME}:22/hook") == "The target is not allowed."


def test_private_targets_on_any_port_only_when_explicitly_allowed(monkeypatch):
    assert webhooks.check_target("https://127.0.0.1:8443/hook") == "The target is not allowed."
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE", "true")
    assert webhooks.check_target("https://127.0.0.1:8443/hook") is None
    # Still nothing to connect to when the name does not resolve.
    assert webhooks.check_target("https://nowhere.invalid/hook") == "The target is not allowed."


def test_the_target_keeps_the_name_for_tls_and_the_path_for_the_request(dns):
    dns[NAME] = ["8.8.8.8"]
    target = webhooks.resolve_target(f"https://{NAME.upper()}/coalition/events?v=1#ignored")
    assert target == webhooks.Target(host=NAME, port=443, path="/coalition/events?v=1", address="8.8.8.8")


def test_signature_is_hmac_sha256_over_timestamp_and_body():
    body = '{"id":"e1"}'
    assert webhooks.sign("whsec_x", "1700000000", body) == hmac.new(b"whsec_x", b"1700000000." + body.encode(), hashlib.sha256).hexdigest()


def test_backoff_grows_and_is_capped():
    assert [webhooks.backoff_seconds(n) for n in (1, 2, 3)] == [5, 10, 20]
    assert webhooks.backoff_seconds(30) == 3600


def test_a_missing_or_malformed_secret_key_is_a_clear_error(monkeypatch):
    monkeypatch.delenv("WEBHOOK_SECRET_KEY", raising=False)
    with pytest.raises(webhooks.SecretKeyError, match="WEBHOOK_SECRET_KEY is not set"):
        webhooks.secret_box()
    monkeypatch.setenv("WEBHOOK_SECRET_KEY", "not-a-key")
    with pytest.raises(webhooks.SecretKeyError, match="not a Fernet key"):
        webhooks.secret_box()
    key = Fernet.generate_key()
    monkeypatch.setenv("WEBHOOK_SECRET_KEY", key.decode())
    assert Fernet(key).decrypt(webhooks.secret_box().encrypt(b"whsec_x")) == b"whsec_x"


def test_credentials_in_the_url_are_refused_rather_than_silently_dropped(dns):
    dns[NAME] = ["8.8.8.8"]
    assert webhooks.check_target(f"https://user:password@{NAME}/hook") == "The target is not allowed."
    assert webhooks.check_target(f"https://token@{NAME}/hook") == "The target is not allowed."


@pytest.mark.parametrize("ports", ["", "443", "443, 8443"])
def test_port_settings_are_read_as_numbers(monkeypatch, ports):
    monkeypatch.setenv("WEBHOOK_PORTS", ports)
    assert webhooks.allowed_ports() >= {443}


@pytest.mark.parametrize("ports", ["https", "443;8443", "0", "70000", ","])
def test_a_malformed_port_setting_stops_the_start(monkeypatch, ports):
    monkeypatch.setenv("WEBHOOK_PORTS", ports)
    monkeypatch.setenv("WEBHOOK_SECRET_KEY", Fernet.generate_key().decode())
    with pytest.raises(ValueError, match="WEBHOOK_PORTS"):
        webhooks.prepare(database=None)
