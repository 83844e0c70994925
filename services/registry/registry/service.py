"""The registry service: a thin nameko layer over the registry's plain modules.

Every call that touches a tenant's object takes the caller's identity (as resolved by
`authenticate`) and lets registry.scope decide what the caller may see."""
from nameko.rpc import rpc
from nameko.timer import timer

from coalition_common.errors import EXPECTED
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from registry import access, audit, indexes, partners, programs, staff, webhooks

api = rpc(expected_exceptions=EXPECTED)


class RegistryService(HealthEntrypoints):
    name = "registry"

    tracing = Tracing()
    database = MongoDatabase(prepare=indexes.prepare)
    dispatch = DeclaringEventDispatcher()

    # access
    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("key",))
    def authenticate(self, key):
        return access.authenticate(self.database, key)

    @rpc(expected_exceptions=EXPECTED, sensitive_arguments=("key",))
    def bootstrap_admin(self, key):
        return access.bootstrap_admin(self.database, key)

    @api
    def describe(self, identity):
        return partners.describe(self.database, identity)

    @api
    def issue_key(self, identity, staff_id, payload=None):
        return access.issue_key(self.database, identity, staff_id, payload)

    @api
    def list_keys(self, identity, staff_id, cursor=None, limit=50):
        return access.list_keys(self.database, identity, staff_id, cursor, limit)

    @api
    def revoke_key(self, identity, key_id):
        return access.revoke_key(self.database, identity, key_id)

    # partners
    @api
    def register_partner(self, identity, payload):
        partner, events = partners.register_partner(self.database, identity, payload)
        publish_outbox(self.database.partners, partner["id"], events, self.dispatch)
        return partner

    @api
    def get_partner(self, identity, partner_id):
        return partners.get_partner(self.database, identity, partner_id)

    @api
    def list_partners(self, identity, cursor=None, limit=50):
        return partners.list_partners(self.database, identity, cursor, limit)

    @api
    def update_partner(self, identity, partner_id, payload):
        return partners.update_partner(self.database, identity, partner_id, payload)

    @api
    def set_partner_status(self, identity, partner_id, status):
        return partners.set_partner_status(self.database, identity, partner_id, status)

    @api
    def accept_charter(self, identity, partner_id, payload):
        charter, events = partners.accept_charter(self.database, identity, partner_id, payload)
        publish_outbox(self.database.partners, partner_id, events, self.dispatch)
        return charter

    @api
    def get_charter(self, identity, partner_id):
        return partners.get_charter(self.database, identity, partner_id)

    @rpc
    def count_partners(self):
        return partners.count_partners(self.database)

    # staff
    @api
    def add_staff(self, identity, partner_id, payload):
        return staff.add_staff(self.database, identity, partner_id, payload)

    @api
    def list_staff(self, identity, partner_id, cursor=None, limit=50):
        return staff.list_staff(self.database, identity, partner_id, cursor, limit)

    @api
    def get_staff(self, identity, staff_id):
        return staff.get_staff(self.database, identity, staff_id)

    @api
    def update_staff(self, identity, staff_id, payload):
        return staff.update_staff(self.database, identity, staff_id, payload)

    @api
    def erase_staff(self, identity, staff_id):
        return staff.erase_staff(self.database, identity, staff_id)

    # programmes
    @api
    def create_program(self, identity, payload):
        return programs.create_program(self.database, identity, payload)

    @api
    def list_programs(self, identity, cursor=None, limit=50):
        return programs.list_programs(self.database, identity, cursor, limit)

    @api
    def get_program(self, identity, program_id):
        return programs.get_program(self.database, identity, program_id)

    @api
    def update_program(self, identity, program_id, payload):
        return programs.update_program(self.database, identity, program_id, payload)

    @api
    def transition_program(self, identity, program_id, payload):
        return programs.transition_program(self.database, identity, program_id, payload)

    @api
    def delete_program(self, identity, program_id):
        return programs.delete_program(self.database, identity, program_id)

    # audit
    @api
    def list_audit(self, identity, cursor=None, limit=50, action=None):
        return audit.list_entries(self.database, identity, cursor, limit, action)

    # webhooks
    @api
    def register_webhook(self, identity, partner_id, payload):
        return webhooks.register_webhook(self.database, identity, partner_id, payload)

    @api
    def list_webhooks(self, identity, partner_id, cursor=None, limit=50):
        return webhooks.list_webhooks(self.database, identity, partner_id, cursor, limit)

    @api
    def get_webhook(self, identity, webhook_id):
        return webhooks.get_webhook(self.database, identity, webhook_id)

    @api
    def delete_webhook(self, identity, webhook_id):
        return webhooks.delete_webhook(self.database, identity, webhook_id)

    @api
    def list_deliveries(self, identity, webhook_id, cursor=None, limit=50):
        return webhooks.list_deliveries(self.database, identity, webhook_id, cursor, limit)

    @reliable_event_handler("matching", "mentee.enrolled")
    def queue_webhook_mentee_enrolled(self, event):
        webhooks.queue_deliveries(self.database, "mentee.enrolled", event)

    @reliable_event_handler("mentor_bank", "mentor.registered")
    def queue_webhook_mentor_registered(self, event):
        webhooks.queue_deliveries(self.database, "mentor.registered", event)

    @timer(interval=2)
    def deliver_webhooks(self):
        webhooks.deliver_due(self.database)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.partners, self.dispatch)
