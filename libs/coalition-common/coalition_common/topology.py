"""Who consumes which event: (source service, event type, consuming service, handler method).

Publishers declare these durable queues up front; a consumer that has never run yet still
gets every event. A test checks this list against the handlers the services declare.
"""
SUBSCRIPTIONS = [
    ("registry", "partner.registered", "reporting", "record_partner_registered"),
    ("mentor_bank", "mentor.registered", "reporting", "record_mentor_registered"),
    ("matching", "mentee.enrolled", "reporting", "record_mentee_enrolled"),
    ("matching", "mentee.enrolled", "registry", "queue_webhook_mentee_enrolled"),
    ("mentor_bank", "mentor.registered", "registry", "queue_webhook_mentor_registered"),
    ("registry", "charter.accepted", "mentor_bank", "record_charter_accepted"),
]
