"""The matching service: a thin nameko layer over matching.mentees."""
from nameko.timer import timer

from coalition_common.calls import ServiceCalls
from coalition_common.entrypoints import Caller, api
from coalition_common.events import DeclaringEventDispatcher, publish_outbox, relay_outbox, reliable_event_handler
from coalition_common.health import HealthEntrypoints
from coalition_common.mongo import MongoDatabase
from coalition_common.revisions import pull_unversioned
from coalition_common.tracing import Tracing
from matching import groups, mentee_imports, mentees, runs, settings


class MatchingService(HealthEntrypoints):
    name = "matching"

    tracing = Tracing()
    database = MongoDatabase(prepare=mentees.prepare)
    dispatch = DeclaringEventDispatcher()
    caller = Caller()
    calls = ServiceCalls()

    def _published(self, mentee_id, answer, events):
        mentees.publish(self.database, mentee_id, events, self.dispatch)
        return answer

    @api("mentee.create")
    def create_mentee(self, payload):
        mentee, events = mentees.create_mentee(self.database, self.caller, payload)
        return self._published(mentee["id"], mentee, events)

    @api("mentee.list")
    def list_mentees(self, query):
        return mentees.list_mentees(self.database, self.caller, query)

    @api("mentee.read")
    def read_mentee(self, mentee_id):
        return mentees.read_mentee(self.database, self.caller, mentee_id)

    @api("mentee.update")
    def update_mentee(self, mentee_id, payload, expected_version=None):
        return self._published(mentee_id, *mentees.update_mentee(self.database, self.caller, mentee_id, payload, expected_version))

    @api("mentee.admit")
    def admit_mentee(self, mentee_id, payload):
        return self._published(mentee_id, *mentees.admit_mentee(self.database, self.caller, mentee_id, payload))

    @api("mentee.withdraw")
    def withdraw_mentee(self, mentee_id, payload):
        return self._published(mentee_id, *mentees.withdraw_mentee(self.database, self.caller, mentee_id, payload))

    @api("mentee.erase")
    def erase_mentee(self, mentee_id):
        return self._published(mentee_id, *mentees.erase_mentee(self.database, self.caller, mentee_id))

    @api("mentee.enrol")
    def enrol_mentee(self, mentee_id, program_id):
        # The programme is read here from the registry as the caller, never taken from the request.
        program = settings.own_program(self.calls, self.caller, program_id)
        return self._published(mentee_id, *mentees.enrol_mentee(self.database, self.caller, mentee_id, program))

    @api("mentee.import")
    def import_mentees(self, csv_text):
        return mentee_imports.import_mentees(self.database, self.caller, csv_text)

    @api("mentee.import")
    def read_mentee_import(self, import_id):
        return mentee_imports.read_import(self.database, self.caller, import_id)

    @api("matching.rule_sets")
    def rule_sets(self):
        return settings.rule_sets()

    @api("matching.settings")
    def read_matching_settings(self, program_id):
        return settings.read_settings(self.database, self.calls, self.caller, program_id)

    @api("matching.settings")
    def replace_matching_settings(self, program_id, payload, expected_version=None):
        return settings.replace_settings(self.database, self.calls, self.caller, program_id, payload, expected_version)

    @api("matching.run")
    def start_run(self, program_id):
        return runs.start_run(self.database, self.calls, self.caller, program_id)

    @api("matching.read")
    def read_run(self, run_id):
        return runs.read_run(self.database, self.caller, run_id)

    @timer(interval=2)
    def run_matching(self):
        """Queued runs, and runs whose worker died, on whichever instance claims them first."""
        runs.run_pending(self.database, self.calls, self.dispatch)

    # --- review of proposals (groups.py) ---

    def _services(self):
        return groups.Services(self.calls, self.caller)

    @api("group.list")
    def list_groups(self, query=None):
        return groups.list_groups(self.database, self.caller, query)

    @api("group.read")
    def read_group(self, group_id):
        return groups.read_group(self.database, self.caller, group_id)

    @api("group.approve")
    def approve_group(self, group_id, expected_version=None):
        group, events = groups.approve(self.database, self.caller, self._services(), group_id, expected_version)
        publish_outbox(self.database.groups, group_id, events, self.dispatch, clear=pull_unversioned)
        return group

    @api("group.reject")
    def reject_group(self, group_id, expected_version=None):
        return groups.reject(self.database, self.caller, self._services(), group_id, expected_version)

    @api("group.edit")
    def move_mentee(self, group_id, payload, expected_version=None):
        return groups.move_mentee(self.database, self.caller, self._services(), group_id, payload, expected_version)

    @api("group.edit")
    def swap_mentor(self, group_id, payload, expected_version=None):
        return groups.swap_mentor(self.database, self.caller, self._services(), group_id, payload, expected_version)

    @timer(interval=60)
    def expire_proposals(self):
        """Proposals nobody decided in time, and decisions whose follow-up a crash left undone."""
        groups.expire_due(self.database, lambda partner_id: groups.Services(self.calls, groups.acting_for(partner_id)))

    @reliable_event_handler("matching", "mentee.withdrawn")
    def leave_proposal_on_withdrawal(self, event):
        groups.on_mentee_left(self.database, event)

    @reliable_event_handler("matching", "mentee.erased")
    def leave_proposal_on_erasure(self, event):
        groups.on_mentee_left(self.database, event)

    @api("platform.count")
    def count_mentees(self, partner_id=None):
        return mentees.count_mentees(self.database, partner_id)

    @timer(interval=10)
    def relay_events(self):
        relay_outbox(self.database.mentees, self.dispatch, clear=mentees.clear)
        runs.relay(self.database, self.dispatch)
        mentee_imports.sweep_abandoned(self.database)
