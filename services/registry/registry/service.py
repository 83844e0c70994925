"""The registry service: a thin nameko layer over the registry's plain modules.

Each entrypoint is one action of the access policy (`coalition_common.policy`): `api(action)`
verifies the caller's signed identity and roles before the worker runs, `self.caller` is that
identity, and the modules apply the action's tenancy rule inside their queries. Privileged
actions act as the caller is in the database at that moment (`self.live()`), never as cached."""
import logging

from nameko import config as nameko_config
from nameko.timer import timer

from coalition_common import lockouts, policy, revisions
from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from registry import access, audit, indexes, partners, programs, staff, webhooks

log = logging.getLogger(__name__)


class RegistryService(HealthEntrypoints):
    name = "registry"

    tracing = Tracing()
    database = MongoDatabase(prepare=indexes.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()

    def live(self):
        """The caller as the registry knows them now, allowed this action with the roles they hold
        now: revoked, erased, demoted or suspended callers fail here even while a gateway still
        holds their old identity."""
        fresh = access.recheck(self.database, self.caller)
        policy.authorize(fresh, self.caller.action)
        return fresh

    def announce(self, reason, **ids):
        """Tell every gateway process to drop cached identities. Should the broker refuse, the
        identity cache's own short lifetime still ends the lock-out's grace, and privileged
        actions never relied on the cache."""
        try:
            lockouts.announce(nameko_config["AMQP_URI"], reason, **ids)
        except Exception as exc:
            log.warning("lock-out announcement failed (%s)", type(exc).__name__)

    # access: platform principals
    @api("platform.authenticate", sensitive_arguments=("key",))
    def authenticate(self, key):
        return access.authenticate(self.database, key)

    @api("platform.bootstrap_admin", sensitive_arguments=("key",))
    def bootstrap_admin(self, key):
        answer = access.bootstrap_admin(self.database, key)
        if answer["changed"]:
            self.announce("admin.rotated")
        return answer

    @api("platform.enrol", sensitive_arguments=("token",))
    def exchange_enrolment(self, token, payload=None):
        return access.exchange_enrolment(self.database, token, payload)

    @api("me.read")
    def describe(self):
        return partners.describe(self.database, self.caller)

    # keys
    @api("key.issue")
    def issue_key(self, staff_id, payload=None):
        return access.issue_key(self.database, self.live(), staff_id, payload)

    @api("key.list")
    def list_keys(self, staff_id, cursor=None, limit=50):
        return access.list_keys(self.database, self.caller, staff_id, cursor, limit)

    @api("key.revoke")
    def revoke_key(self, key_id):
        key = access.revoke_key(self.database, self.live(), key_id)
        self.announce("key.revoked", key_id=key_id)
        return key

    @api("enrolment.issue")
    def issue_enrolment(self, staff_id):
        return access.issue_enrolment(self.database, self.live(), staff_id)

    # partners
    @api("partner.register")
    def register_partner(self, payload):
        partner, events = partners.register_partner(self.database, self.live(), payload)
        publish_outbox(self.database.partners, partner["id"], events, self.dispatch, revisions.pull_unversioned)
        return partner

    @api("partner.read")
    def get_partner(self, partner_id):
        return partners.get_partner(self.database, self.caller, partner_id)

    @api("partner.list")
    def list_partners(self, cursor=None, limit=50):
        return partners.list_partners(self.database, self.caller, cursor, limit)

    @api("partner.update")
    def update_partner(self, partner_id, payload, expected_version=None):
        return partners.update_partner(self.database, self.live(), partner_id, payload, expected_version)

    @api("partner.suspend")
    def suspend_partner(self, partner_id):
        partner = partners.set_partner_status(self.database, self.live(), partner_id, "suspended")
        self.announce("partner.suspended", partner_id=partner_id)
        return partner

    @api("partner.reinstate")
    def reinstate_partner(self, partner_id):
        return partners.set_partner_status(self.database, self.live(), partner_id, "active")

    @api("charter.accept")
    def accept_charter(self, partner_id, payload):
        charter, events = partners.accept_charter(self.database, self.live(), partner_id, payload)
        publish_outbox(self.database.partners, partner_id, events, self.dispatch, revisions.pull_unversioned)
        return charter

    @api("charter.read")
    def get_charter(self, partner_id):
        return partners.get_charter(self.database, self.caller, partner_id)

    @api("platform.count")
    def count_partners(self):
        return partners.count_partners(self.database)

    # staff
    @api("staff.add")
    def add_staff(self, partner_id, payload):
        return staff.add_staff(self.database, self.live(), partner_id, payload)

    @api("staff.list")
    def list_staff(self, partner_id, cursor=None, limit=50):
        return staff.list_staff(self.database, self.caller, partner_id, cursor, limit)

    @api("staff.read")
    def get_staff(self, staff_id):
        return staff.get_staff(self.database, self.caller, staff_id)

    @api("staff.update")
    def update_staff(self, staff_id, payload, expected_version=None):
        member = staff.update_staff(self.database, self.live(), staff_id, payload, expected_version)
        if "roles" in (payload or {}):
            self.announce("staff.roles_changed", staff_id=staff_id)
        return member

    @api("staff.erase")
    def erase_staff(self, staff_id):
        staff.erase_staff(self.database, self.live(), staff_id)
        self.announce("staff.erased", staff_id=staff_id)

    # programmes
    @api("program.create")
    def create_program(self, payload):
        return programs.create_program(self.database, self.caller, payload)

    @api("program.list")
    def list_programs(self, cursor=None, limit=50):
        return programs.list_programs(self.database, self.caller, cursor, limit)

    @api("program.read")
    def get_program(self, program_id):
        return programs.get_program(self.database, self.caller, program_id)

    @api("program.update")
    def update_program(self, program_id, payload, expected_version=None):
        return programs.update_program(self.database, self.caller, program_id, payload, expected_version)

    @api("program.transition")
    def transition_program(self, program_id, payload):
        return programs.transition_program(self.database, self.caller, program_id, payload)

    @api("program.delete")
    def delete_program(self, program_id):
        return programs.delete_program(self.database, self.caller, program_id)

    # audit
    @api("audit.read")
    def list_audit(self, cursor=None, limit=50, action=None):
        return audit.list_entries(self.database, self.caller, cursor, limit, action)

    # webhooks
    @api("webhook.register")
    def register_webhook(self, partner_id, payload):
        return webhooks.register_webhook(self.database, self.live(), partner_id, payload)

    @api("webhook.list")
    def list_webhooks(self, partner_id, cursor=None, limit=50):
        return webhooks.list_webhooks(self.database, self.caller, partner_id, cursor, limit)

    @api("webhook.read")
    def get_webhook(self, webhook_id):
        return webhooks.get_webhook(self.database, self.caller, webhook_id)

    @api("webhook.delete")
    def delete_webhook(self, webhook_id):
        return webhooks.delete_webhook(self.database, self.live(), webhook_id)

    @api("webhook.deliveries")
    def list_deliveries(self, webhook_id, cursor=None, limit=50):
        return webhooks.list_deliveries(self.database, self.caller, webhook_id, cursor, limit)

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
        relay_outbox(self.database.partners, self.dispatch, clear=revisions.pull_unversioned)
