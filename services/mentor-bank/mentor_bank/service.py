"""The mentor bank service: a thin nameko layer over mentor_bank.mentors and mentor_bank.pool."""
from nameko.timer import timer

from coalition_common import revisions
from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from mentor_bank import mentors, pool, reservations


class MentorBankService(HealthEntrypoints):
    name = "mentor_bank"

    tracing = Tracing()
    database = MongoDatabase(prepare=mentors.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()

    @api("mentor.register")
    def register_mentor(self, payload):
        mentor, events = mentors.register_mentor(self.database, self.caller, payload)
        publish_outbox(self.database.mentors, mentor["id"], events, self.dispatch, revisions.pull_unversioned)
        return mentor

    @api("platform.count")
    def count_mentors(self, partner_id=None):
        return mentors.count_mentors(self.database, partner_id)

    @api("mentor.list")
    def list_mentors(self, cursor=None, limit=50):
        return pool.list_mentors(self.database, self.caller, cursor, limit)

    @api("mentor.reserve")
    def reserve(self, mentor_id, proposal_id, ttl_seconds):
        return reservations.reserve(self.database, self.caller, mentor_id, proposal_id, ttl_seconds)

    @api("mentor.confirm")
    def confirm(self, proposal_id):
        return reservations.confirm(self.database, self.caller, proposal_id)

    @api("mentor.release")
    def release(self, proposal_id):
        return reservations.release(self.database, self.caller, proposal_id)

    @reliable_event_handler("registry", "charter.accepted")
    def record_charter_accepted(self, event):
        pool.join(self.database, event)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.mentors, self.dispatch, clear=revisions.pull_unversioned)
