"""The registry service: a thin nameko layer over registry.access and registry.partners."""
from nameko.rpc import rpc
from nameko.timer import timer

from coalition_common.errors import EXPECTED
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from registry import access, partners


class RegistryService(HealthEntrypoints):
    name = "registry"

    tracing = Tracing()
    database = MongoDatabase(prepare=access.prepare)
    dispatch = DeclaringEventDispatcher()

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("key",))
    def authenticate(self, key):
        return access.authenticate(self.database, key)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("key",))
    def bootstrap_admin(self, key):
        return access.bootstrap_admin(self.database, key)

    @rpc(expected_exceptions=EXPECTED)
    def describe(self, identity):
        return partners.describe(self.database, identity)

    @rpc(expected_exceptions=EXPECTED)
    def register_partner(self, payload):
        partner, events = partners.register_partner(self.database, payload)
        publish_outbox(self.database.partners, partner["id"], events, self.dispatch)
        return partner

    @rpc(expected_exceptions=EXPECTED)
    def get_partner(self, partner_id):
        return partners.get_partner(self.database, partner_id)

    @rpc
    def count_partners(self):
        return partners.count_partners(self.database)

    @rpc(expected_exceptions=EXPECTED)
    def add_staff(self, partner_id, payload):
        return partners.add_staff(self.database, partner_id, payload)

    @rpc(expected_exceptions=EXPECTED)
    def issue_key(self, staff_id):
        return partners.issue_key(self.database, staff_id)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.partners, self.dispatch)
