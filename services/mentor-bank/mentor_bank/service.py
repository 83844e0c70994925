"""The mentor bank service: a thin nameko layer over the plain modules of mentor_bank."""
from nameko.timer import timer

from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.tracing import Tracing
from mentor_bank import candidates, exports, imports, mentors, outbox, pool, reservations, screening, search


class MentorBankService(HealthEntrypoints):
    name = "mentor_bank"

    tracing = Tracing()
    database = MongoDatabase(prepare=mentors.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()
    # Each instance's in-memory search index, kept up to date from mentor_changes (search.py).
    index = search.MentorIndex()

    def _published(self, mentor_id, answer, events):
        outbox.publish(self.database, mentor_id, events, self.dispatch)
        return answer

    @api("mentor.register")
    def register_mentor(self, payload):
        mentor, events = mentors.register_mentor(self.database, self.caller, payload)
        return self._published(mentor["id"], mentor, events)

    @api("mentor.list")
    def search_mentors(self, query):
        return search.search(self.database, self.index, self.caller, query)

    @api("mentor.candidates")
    def matching_candidates(self, cursor=None, limit=candidates.MAX_PAGE):
        return candidates.matching_candidates(self.database, self.index, self.caller, cursor, limit)

    @api("mentor.candidates")
    def matching_candidate(self, mentor_id):
        return candidates.matching_candidate(self.database, self.caller, mentor_id)

    @api("mentor.candidates")
    def matching_preferences(self, mentor_ids):
        return candidates.preference_codes(self.database, self.index, self.caller, mentor_ids)

    @api("mentor.import")
    def start_import(self, csv_text):
        return imports.start_import(self.database, self.caller, csv_text)

    @api("mentor.import")
    def read_import(self, import_id):
        return imports.read_import(self.database, self.caller, import_id)

    @timer(interval=1)
    def run_imports(self):
        imports.run_pending(self.database, self.dispatch)

    @api("mentor.export")
    def export_mentors(self):
        return exports.export_csv(self.database, self.caller)

    @api("mentor.read")
    def read_mentor(self, mentor_id):
        return mentors.read_mentor(self.database, self.caller, mentor_id)

    @api("mentor.update")
    def update_mentor(self, mentor_id, payload, expected_version=None):
        mentor, events = mentors.update_mentor(self.database, self.caller, mentor_id, payload, expected_version)
        return self._published(mentor_id, mentor, events)

    @api("mentor.transition")
    def change_status(self, mentor_id, payload):
        return self._published(mentor_id, *mentors.change_status(self.database, self.caller, mentor_id, payload))

    @api("mentor.screening")
    def record_screening(self, mentor_id, payload):
        return self._published(mentor_id, *mentors.record_screening(self.database, self.caller, mentor_id, payload))

    @api("mentor.orientation")
    def record_orientation(self, mentor_id, payload):
        return self._published(mentor_id, *mentors.record_orientation(self.database, self.caller, mentor_id, payload))

    @api("mentor.sharing")
    def change_sharing(self, mentor_id, payload):
        return self._published(mentor_id, *mentors.change_sharing(self.database, self.caller, mentor_id, payload))

    @api("mentor.sharing")
    def sharing_history(self, mentor_id):
        return mentors.sharing_history(self.database, self.caller, mentor_id)

    @api("mentor.erase")
    def erase_mentor(self, mentor_id):
        return self._published(mentor_id, *mentors.erase_mentor(self.database, self.caller, mentor_id))

    @api("platform.count")
    def count_mentors(self, partner_id=None):
        return mentors.count_mentors(self.database, partner_id)

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
        outbox.relay(self.database, self.dispatch)

    @timer(interval=6 * 3600)
    def sweep_events(self):
        """The safety net behind the markers: a full scan, four times a day."""
        outbox.sweep(self.database, self.dispatch)

    @timer(interval=3600)
    def announce_expired_screenings(self):
        """Hourly, so each expiry is announced within the day it happens."""
        screening.announce_expired(self.database, self.dispatch)
