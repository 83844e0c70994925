"""The reporting service: consumes events into de-identified facts."""
from coalition_common.entrypoints import Caller, api
from coalition_common.events import reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from reporting import facts


class ReportingService(HealthEntrypoints):
    name = "reporting"

    tracing = Tracing()
    database = MongoDatabase(prepare=facts.prepare)
    caller = Caller()

    @reliable_event_handler("registry", "partner.registered")
    def record_partner_registered(self, event):
        facts.record(self.database, "partner.registered", event)

    @reliable_event_handler("mentor_bank", "mentor.registered")
    def record_mentor_registered(self, event):
        facts.record(self.database, "mentor.registered", event)

    @reliable_event_handler("matching", "mentee.enrolled")
    def record_mentee_enrolled(self, event):
        facts.record(self.database, "mentee.enrolled", event)

    @api("metrics.counts")
    def coalition_counts(self):
        return facts.coalition_counts(self.database)
