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

    @reliable_event_handler("mentor_bank", "mentor.activated")
    def record_mentor_activated(self, event):
        facts.record(self.database, "mentor.activated", event)

    @reliable_event_handler("mentor_bank", "mentor.paused")
    def record_mentor_paused(self, event):
        facts.record(self.database, "mentor.paused", event)

    @reliable_event_handler("mentor_bank", "mentor.retired")
    def record_mentor_retired(self, event):
        facts.record(self.database, "mentor.retired", event)

    @reliable_event_handler("mentor_bank", "mentor.erased")
    def record_mentor_erased(self, event):
        facts.record(self.database, "mentor.erased", event)

    @reliable_event_handler("mentor_bank", "mentor.consent_changed")
    def record_mentor_consent_changed(self, event):
        facts.record(self.database, "mentor.consent_changed", event)

    @reliable_event_handler("mentor_bank", "mentor.screening_expired")
    def record_mentor_screening_expired(self, event):
        facts.record(self.database, "mentor.screening_expired", event)

    @reliable_event_handler("matching", "mentee.enrolled")
    def record_mentee_enrolled(self, event):
        facts.record(self.database, "mentee.enrolled", event)

    @reliable_event_handler("matching", "mentee.admitted")
    def record_mentee_admitted(self, event):
        facts.record(self.database, "mentee.admitted", event)

    @reliable_event_handler("matching", "mentee.withdrawn")
    def record_mentee_withdrawn(self, event):
        facts.record(self.database, "mentee.withdrawn", event)

    @reliable_event_handler("matching", "mentee.erased")
    def record_mentee_erased(self, event):
        facts.record(self.database, "mentee.erased", event)

    @reliable_event_handler("matching", "matching.completed")
    def record_matching_completed(self, event):
        facts.record(self.database, "matching.completed", event)

    @reliable_event_handler("matching", "group.proposed")
    def record_group_proposed(self, event):
        facts.record(self.database, "group.proposed", event)

    @reliable_event_handler("matching", "group.approved")
    def record_group_approved(self, event):
        facts.record(self.database, "group.approved", event)

    @api("metrics.counts")
    def coalition_counts(self, partner_id=None):
        return facts.coalition_counts(self.database, partner_id if isinstance(partner_id, str) else None)
