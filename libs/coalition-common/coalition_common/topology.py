"""Who publishes which events, and who consumes them.

A test checks both tables against the code: every type a service's modules put in an outbox is
listed under that service in PUBLISHES, every published type has at least one subscription, and
SUBSCRIPTIONS matches the handlers the services declare. Publishers declare their subscribers'
durable queues up front (so a consumer that has never run yet still gets every event) and refuse
to start if a type they publish has no queue (see DeclaringEventDispatcher).
"""

# The event types each service publishes (through its outbox and DeclaringEventDispatcher).
PUBLISHES = {
    "registry": ("partner.registered", "charter.accepted"),
    "mentor_bank": ("mentor.registered", "mentor.activated", "mentor.paused", "mentor.retired", "mentor.erased",
                    "mentor.consent_changed", "mentor.screening_expired"),
    "matching": ("mentee.enrolled", "mentee.admitted", "mentee.withdrawn", "mentee.erased",
                 "group.approved", "matching.completed", "group.proposed"),
}

# (source service, event type, consuming service, handler method).
SUBSCRIPTIONS = [
    ("registry", "partner.registered", "reporting", "record_partner_registered"),
    ("mentor_bank", "mentor.registered", "reporting", "record_mentor_registered"),
    ("mentor_bank", "mentor.activated", "reporting", "record_mentor_activated"),
    ("mentor_bank", "mentor.paused", "reporting", "record_mentor_paused"),
    ("mentor_bank", "mentor.retired", "reporting", "record_mentor_retired"),
    ("mentor_bank", "mentor.erased", "reporting", "record_mentor_erased"),
    ("mentor_bank", "mentor.consent_changed", "reporting", "record_mentor_consent_changed"),
    ("mentor_bank", "mentor.screening_expired", "reporting", "record_mentor_screening_expired"),
    ("matching", "mentee.enrolled", "reporting", "record_mentee_enrolled"),
    ("matching", "mentee.admitted", "reporting", "record_mentee_admitted"),
    ("matching", "mentee.withdrawn", "reporting", "record_mentee_withdrawn"),
    ("matching", "mentee.erased", "reporting", "record_mentee_erased"),
    ("matching", "matching.completed", "reporting", "record_matching_completed"),
    ("matching", "group.proposed", "reporting", "record_group_proposed"),
    ("matching", "group.approved", "reporting", "record_group_approved"),
    # A mentee who leaves while proposed leaves the proposal (matching.groups.leave_proposal).
    ("matching", "mentee.withdrawn", "matching", "leave_proposal_on_withdrawal"),
    ("matching", "mentee.erased", "matching", "leave_proposal_on_erasure"),
    ("matching", "mentee.enrolled", "registry", "queue_webhook_mentee_enrolled"),
    ("mentor_bank", "mentor.registered", "registry", "queue_webhook_mentor_registered"),
    ("registry", "charter.accepted", "mentor_bank", "record_charter_accepted"),
]


class TopologyError(RuntimeError):
    """A service would publish events that no queue takes: they would be lost or stuck."""


def unsubscribed_types(source_service):
    """The event types `source_service` publishes that no subscription consumes. A service
    missing from PUBLISHES raises TopologyError: it must say what it publishes."""
    if source_service not in PUBLISHES:
        raise TopologyError(f"{source_service} publishes events but is missing from topology.PUBLISHES")
    subscribed = {event_type for source, event_type, _, _ in SUBSCRIPTIONS if source == source_service}
    return [event_type for event_type in PUBLISHES[source_service] if event_type not in subscribed]
