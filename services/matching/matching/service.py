"""The matching service: a thin nameko layer over matching.mentees."""
from nameko.timer import timer

from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from matching import mentees


class MatchingService(HealthEntrypoints):
    name = "matching"

    tracing = Tracing()
    database = MongoDatabase(prepare=mentees.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()

    @api("mentee.enrol")
    def enrol_mentee(self, payload):
        mentee, events = mentees.enrol_mentee(self.database, self.caller, payload)
        publish_outbox(self.database.mentees, mentee["id"], events, self.dispatch)
        return mentee

    @api("platform.count")
    def count_mentees(self, partner_id=None):
        return mentees.count_mentees(self.database, partner_id)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.mentees, self.dispatch)
