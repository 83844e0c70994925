"""The event topology tables must match the code: what each service publishes, who consumes it,
and the queues publishers declare up front."""
import inspect
import pathlib
import re
import types

import pytest
from nameko.events import EventHandler

from coalition_common import topology
from coalition_common.events import DeclaringEventDispatcher, consumer_queue
from coalition_common.topology import PUBLISHES, SUBSCRIPTIONS, TopologyError, unsubscribed_types
from matching.service import MatchingService
from mentor_bank.service import MentorBankService
from registry.service import RegistryService
from reporting.service import ReportingService

ROOT = pathlib.Path(__file__).resolve().parents[2]
SERVICES = {"reporting": ReportingService, "registry": RegistryService, "mentor_bank": MentorBankService,
            "matching": MatchingService}
PACKAGES = {"registry": "services/registry/registry", "mentor_bank": "services/mentor-bank/mentor_bank",
            "matching": "services/matching/matching", "reporting": "services/reporting/reporting"}
# outbox_entry("type", ...) and dispatch("type", ...), the type possibly on the next line.
PUBLISH_CALL = re.compile(r"\b(outbox_entry|dispatch)\(\s*(\"([^\"]*)\"|'([^']*)')?")


def declared_handlers():
    found = set()
    for service_name, service_cls in SERVICES.items():
        for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler):
                    found.add((entrypoint.source_service, entrypoint.event_type, service_name, method_name))
    return found


def published_in_code():
    """{service: {event type, ...}} from every outbox_entry/dispatch call in its modules."""
    found = {}
    for service_name, package in PACKAGES.items():
        for module in sorted((ROOT / package).glob("*.py")):
            for call in PUBLISH_CALL.finditer(module.read_text()):
                event_type = call.group(3) or call.group(4)
                assert event_type, f"{module.relative_to(ROOT)}: {call.group(1)}( must name its event type as a literal"
                found.setdefault(service_name, set()).add(event_type)
    return found


def test_every_subscription_has_a_handler_and_every_handler_a_subscription():
    assert set(SUBSCRIPTIONS) == declared_handlers()


def test_services_publish_only_the_types_listed_for_them():
    published = published_in_code()
    assert published, "no outbox_entry calls found: the search is broken"
    for service_name, event_types in published.items():
        assert event_types <= set(PUBLISHES.get(service_name, ())), service_name


def test_every_published_type_has_a_subscriber_and_every_subscription_a_publisher():
    for service_name in PUBLISHES:
        assert unsubscribed_types(service_name) == [], service_name
    listed = {(source, event_type) for source, types_ in PUBLISHES.items() for event_type in types_}
    assert {(source, event_type) for source, event_type, _, _ in SUBSCRIPTIONS} <= listed


def test_exactly_the_listed_services_dispatch_events():
    dispatching = {name for name, cls in SERVICES.items()
                   if any(isinstance(value, DeclaringEventDispatcher) for value in vars(cls).values())}
    assert dispatching == set(PUBLISHES)


def test_a_publisher_with_an_unsubscribed_type_refuses_to_start(monkeypatch):
    monkeypatch.setitem(topology.PUBLISHES, "matching", ("mentee.enrolled", "mentee.unheard_of"))
    dispatcher = DeclaringEventDispatcher()
    dispatcher.container = types.SimpleNamespace(service_name="matching")
    with pytest.raises(TopologyError, match="mentee.unheard_of"):
        dispatcher.setup()


def test_a_service_missing_from_the_table_cannot_publish():
    with pytest.raises(TopologyError):
        unsubscribed_types("unlisted")


def test_declared_queue_matches_nameko_naming_and_is_durable():
    queue = consumer_queue("matching", "mentee.enrolled", "reporting", "record_mentee_enrolled")
    assert queue.name == "evt-matching-mentee.enrolled--reporting.record_mentee_enrolled"
    assert queue.durable and not queue.auto_delete and not queue.exclusive
    assert queue.exchange.name == "matching.events" and queue.routing_key == "mentee.enrolled"
