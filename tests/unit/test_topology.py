"""The queues publishers declare up front must be exactly the ones the consumers read."""
import inspect

from nameko.events import EventHandler

from coalition_common.events import consumer_queue
from coalition_common.topology import SUBSCRIPTIONS
from mentor_bank.service import MentorBankService
from registry.service import RegistryService
from reporting.service import ReportingService

CONSUMERS = {"reporting": ReportingService, "registry": RegistryService, "mentor_bank": MentorBankService}


def declared_handlers():
    found = set()
    for service_name, service_cls in CONSUMERS.items():
        for method_name, method in inspect.getmembers(service_cls, inspect.isfunction):
            for entrypoint in getattr(method, "nameko_entrypoints", ()):
                if isinstance(entrypoint, EventHandler):
                    found.add((entrypoint.source_service, entrypoint.event_type, service_name, method_name))
    return found


def test_every_subscription_has_a_handler_and_every_handler_a_subscription():
    assert set(SUBSCRIPTIONS) == declared_handlers()


def test_declared_queue_matches_nameko_naming_and_is_durable():
    queue = consumer_queue("matching", "mentee.enrolled", "reporting", "record_mentee_enrolled")
    assert queue.name == "evt-matching-mentee.enrolled--reporting.record_mentee_enrolled"
    assert queue.durable and not queue.auto_delete and not queue.exclusive
    assert queue.exchange.name == "matching.events" and queue.routing_key == "mentee.enrolled"
