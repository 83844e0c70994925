"""The mentor bank service: a thin nameko layer over mentor_bank.mentors."""
from nameko.rpc import rpc
from nameko.timer import timer

from coalition_common.errors import EXPECTED
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

    @rpc(expected_exceptions=EXPECTED)
    def register_mentor(self, partner_id, payload):
        mentor, events = mentors.register_mentor(self.database, partner_id, payload)
        publish_outbox(self.database.mentors, mentor["id"], events, self.dispatch)
        return mentor

    @rpc
    def count_mentors(self, partner_id=None):
        return mentors.count_mentors(self.database, partner_id)

    @rpc(expected_exceptions=EXPECTED)
    def list_mentors(self, identity, cursor=None, limit=50):
        return pool.list_mentors(self.database, identity, cursor, limit)

    @reliable_event_handler("registry", "charter.accepted")
    def record_charter_accepted(self, event):
        pool.join(self.database, event)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.mentors, self.dispatch)
