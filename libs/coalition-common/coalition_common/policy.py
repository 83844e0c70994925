"""The one access policy: for each action, the roles allowed and the tenancy rule.

The gateway's per-route checks, every service's entrypoint checks and the authorisation-matrix
test all read this table; the README shows it (a test keeps the two the same).
"""
from dataclasses import dataclass

from coalition_common.errors import Forbidden

ROLES = ("coalition_admin", "partner_admin", "coordinator", "recruiter", "analyst")
PARTNER_ROLES = ROLES[1:]
PLATFORM = "platform"  # the gateway resolving keys, operator commands; never a staff role

# Tenancy rules: which objects an allowed role may act on.
CALLER = "the caller's own record"
COALITION = "coalition"         # coalition-wide; only coalition roles are allowed at all
MEMBERS_READ = "own partner; hub staff also read the partners reporting to their hub"
OWN = "own partner"
SELF = "own staff record only"
SELF_OR_PARTNER_ADMIN = "own keys; a partner admin also colleagues' keys"
POOL = "own partner in full; other charter partners' consenting mentors, pooled fields only"
# A coalition admin allowed an action acts on every partner's objects, whatever the rule above,
# except under POOL: there the admin is one more partner that has joined, and sees pooled fields.
INTERNAL = "platform processes only"
REFERENCE = "reference data shipped with the platform, the same for every partner"

ALL = ROLES
MENTOR_READERS = ("coalition_admin", "partner_admin", "coordinator", "recruiter")
RECRUITERS = ("partner_admin", "recruiter")
ADMINS = ("coalition_admin", "partner_admin")
RUNNERS = ("partner_admin", "coordinator")
PROGRAM_READERS = ("coalition_admin", "partner_admin", "coordinator", "analyst")


@dataclass(frozen=True)
class Rule:
    roles: tuple
    tenancy: str
    # Privileged actions are re-checked against the registry at that moment, never from a cache.
    privileged: bool = False


POLICY = {
    "me.read": Rule(ALL, CALLER),
    "partner.list": Rule(ALL, MEMBERS_READ),
    "partner.read": Rule(ALL, MEMBERS_READ),
    "partner.register": Rule(("coalition_admin",), COALITION, privileged=True),
    "partner.update": Rule(ADMINS, OWN, privileged=True),
    "partner.suspend": Rule(("coalition_admin",), COALITION, privileged=True),
    "partner.reinstate": Rule(("coalition_admin",), COALITION, privileged=True),
    "charter.read": Rule(ALL, MEMBERS_READ),
    "charter.accept": Rule(("partner_admin",), OWN, privileged=True),
    "staff.list": Rule(ADMINS, OWN),
    "staff.add": Rule(ADMINS, OWN, privileged=True),
    "staff.read": Rule(ALL, OWN),
    "staff.update": Rule(ADMINS, OWN, privileged=True),
    "staff.erase": Rule(ADMINS, OWN, privileged=True),
    "enrolment.issue": Rule(ADMINS, OWN, privileged=True),
    "key.list": Rule(ALL, SELF_OR_PARTNER_ADMIN),
    "key.issue": Rule(ALL, SELF, privileged=True),
    "key.revoke": Rule(ALL, SELF_OR_PARTNER_ADMIN, privileged=True),
    "program.list": Rule(PROGRAM_READERS, MEMBERS_READ),
    "program.read": Rule(PROGRAM_READERS, MEMBERS_READ),
    "program.create": Rule(RUNNERS, OWN),
    "program.update": Rule(RUNNERS, OWN),
    "program.transition": Rule(RUNNERS, OWN),
    "program.delete": Rule(RUNNERS, OWN),
    "webhook.list": Rule(ADMINS, OWN),
    "webhook.register": Rule(("partner_admin",), OWN, privileged=True),
    "webhook.read": Rule(ADMINS, OWN),
    "webhook.delete": Rule(("partner_admin",), OWN, privileged=True),
    "webhook.deliveries": Rule(ADMINS, OWN),
    "audit.read": Rule(("coalition_admin",), COALITION),
    "dead_letter.list": Rule(("coalition_admin",), COALITION),
    # Replaying hands an event back to the consumer that failed it; consumers apply each event once.
    "dead_letter.replay": Rule(("coalition_admin",), COALITION),
    # Analysts see no mentor records; recruiters and partner admins manage their own partner's.
    "mentor.list": Rule(MENTOR_READERS, POOL),
    "mentor.read": Rule(MENTOR_READERS, POOL),
    "mentor.register": Rule(RECRUITERS, OWN),
    "mentor.update": Rule(RECRUITERS, OWN),
    "mentor.transition": Rule(RECRUITERS, OWN),
    "mentor.screening": Rule(RECRUITERS, OWN),
    "mentor.orientation": Rule(RECRUITERS, OWN),
    "mentor.sharing": Rule(RECRUITERS, OWN),
    "mentor.erase": Rule(RECRUITERS, OWN),
    "mentor.import": Rule(RECRUITERS, OWN),
    "mentor.export": Rule(RECRUITERS, OWN),
    # Matching holds a mentor's place for a proposal on behalf of the coordinator running it.
    "mentor.reserve": Rule(RUNNERS, POOL),
    "mentor.confirm": Rule(RUNNERS, POOL),
    "mentor.release": Rule(RUNNERS, POOL),
    # The mentors a matching run may use, in the engine's fields (no personal data), for the
    # programme's partner: the matching service asks on behalf of the coordinator who started the run.
    "mentor.candidates": Rule(RUNNERS, POOL),
    # Mentees belong to the partner that took them in: its programme runners only, and no hub
    # analyst or coalition admin sees a person. Enrolment puts one in the partner's own programme.
    "mentee.list": Rule(RUNNERS, OWN),
    "mentee.read": Rule(RUNNERS, OWN),
    "mentee.create": Rule(RUNNERS, OWN),
    "mentee.update": Rule(RUNNERS, OWN),
    "mentee.admit": Rule(RUNNERS, OWN),
    "mentee.withdraw": Rule(RUNNERS, OWN),
    "mentee.erase": Rule(RUNNERS, OWN),
    "mentee.import": Rule(RUNNERS, OWN),
    "mentee.enrol": Rule(RUNNERS, OWN),
    # Review of proposals (four eyes): the programme's own partner only, whoever's mentor it is.
    "group.list": Rule(RUNNERS, OWN),
    "group.read": Rule(RUNNERS, OWN),
    "group.approve": Rule(RUNNERS, OWN),
    "group.reject": Rule(RUNNERS, OWN),
    "group.edit": Rule(RUNNERS, OWN),
    "metrics.counts": Rule(("coalition_admin", "analyst"), COALITION),
    # Matching runs and their settings: the programme's own partner's staff only.
    "matching.settings": Rule(RUNNERS, OWN),
    "matching.run": Rule(RUNNERS, OWN),
    "matching.read": Rule(RUNNERS, OWN),
    "matching.rule_sets": Rule(PROGRAM_READERS, REFERENCE),
    # Platform principals only: key resolution, enrolment, admin bootstrap, seeding checks.
    "platform.authenticate": Rule((PLATFORM,), INTERNAL),
    "platform.enrol": Rule((PLATFORM,), INTERNAL),
    "platform.bootstrap_admin": Rule((PLATFORM,), INTERNAL),
    "platform.count": Rule((PLATFORM, "coalition_admin"), INTERNAL),
}


def rule(action):
    return POLICY[action]


def allows(identity, action):
    return bool(set(POLICY[action].roles) & set(identity.get("roles") or ()))


def authorize(identity, action):
    """Function-level check: the caller holds one of the action's roles, else Forbidden."""
    if not allows(identity, action):
        raise Forbidden("Your role does not allow this.")


def markdown_table():
    """The policy as the README shows it."""
    lines = ["| action | roles allowed | tenancy | re-checked live |", "|---|---|---|---|"]
    for action, entry in POLICY.items():
        lines.append(f"| `{action}` | {', '.join(entry.roles)} | {entry.tenancy} | {'yes' if entry.privileged else ''} |")
    return "\n".join(lines)
