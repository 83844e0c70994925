"""The mentor bank service: a thin nameko layer over mentor_bank.mentors and mentor_bank.pool."""
from nameko.timer import timer

from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from mentor_bank import mentors, pool


class MentorBankService(HealthEntrypoints):
    name = "mentor_bank"

    tracing = Tracing()
    database = MongoDatabase(prepare=mentors.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()

    @api("mentor.register")
    def register_mentor(self, payload):
        mentor, events = mentors.register_mentor(self.database, self.caller, payload)
        publish_outbox(self.database.mentors, mentor["id"], events, self.dispatch)
        return mentor

    @api("platform.count")
    def count_mentors(self, partner_id=None):
        return mentors.count_mentors(self.database, partner_id)

    @api("mentor.list")
    def list_mentors(self, cursor=None, limit=50):
        return pool.list_mentors(self.database, self.caller, cursor, limit)

    @reliable_event_handler("registry", "charter.accepted")
    def record_charter_accepted(self, event):
        pool.join(self.database, event)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.mentors, self.dispatch)
