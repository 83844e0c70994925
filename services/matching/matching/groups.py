"""Review of proposals: the four eyes that make a matching run's proposal a group.

A run (matching.runs) writes each proposal as a group document in status `proposed`, its mentees
`proposed` with its id. From then on this module owns it:

- Approval by two different staff members of the programme's partner (the same person twice is
  refused). The first approval holds one of the mentor's places (the mentor bank's `reserve`,
  proposal id = group id); the second confirms the hold, makes the proposal `approved`, moves its
  mentees to `matched` and announces `group.approved`. A mentor taken meanwhile (no place left,
  no longer eligible, no longer shared) fails the approval with 409 naming why: the mentor bank
  refuses, it never over-books. The second approval is refused (409) too while a member is no
  longer `proposed` with the group's id (left unnoticed) or the proposal is below the
  programme's minimum size.
- Rejection, and expiry when nobody decided in time: the hold is released and the mentees wait
  again.
- Edits before the first approval: move a mentee between two proposals of one run, or swap the
  mentor. Each answers the rescored explanation (rules.explain_group); a change that breaks a
  hard rule (rules.group_problems) is refused with 422 naming the rule.

There are no transactions (FerretDB 1.x), so every change of a group is a versioned write
(coalition_common.revisions), and the order of writes and calls keeps every interleaving sound:
- a hold exists only while the group records an approval, and edits need none, so the mentor of a
  group with a hold never changes and `release(group id)` always concerns that one mentor;
- the first approval is written before the place is held: of two racing first approvals one is
  written and the other answers 409, having held nothing; a refused hold takes the approval back;
- rejection and expiry are written before the hold is released; an approval that held or
  confirmed a place and then lost its write to them releases it again;
- what follows a decision (releasing, moving mentees) is repeatable; the group records `settled`
  once it is done, and a timer finishes whatever a crash left undone.

Groups hold no personal data: mentees by id, the mentor by id and partner.
"""
import datetime
import logging

from coalition_common.errors import Conflict, NotFound, ValidationFailed
from coalition_common.events import outbox_entry
from coalition_common.identity import operator
from coalition_common.ids import as_stored, aware, utcnow
from coalition_common.pagination import page
from coalition_common.revisions import check_expected, update_versioned, version_of
from coalition_common.schemas import load, public
from matching import mentees, rules, settings
from matching.group_schemas import GROUP_ID_PATTERN, GroupQuerySchema, GroupSchema, MenteeMoveSchema, MentorSwapSchema, is_group_id

log = logging.getLogger(__name__)

PROPOSED, APPROVED, REJECTED, EXPIRED = "proposed", "approved", "rejected", "expired"
# The mentor bank holds a place for at most a week (reservations.MAX_TTL_SECONDS); a hold that ran
# out before the second approval is made again then, if the place is still free.
MAX_HOLD_SECONDS = 7 * 24 * 3600
# A decision whose follow-up is still undone after this long is finished by the timer.
SETTLE_GRACE = datetime.timedelta(seconds=30)
ROUNDS = 20
# Rules about the mentor alone: a move of a mentee leaves the mentor as it was.
MENTOR_RULES = ("eligibility", "visibility", "capacity")


class Services:
    """The other services' RPCs that review uses, called as `identity`: the mentor bank applies its
    pooling rules to that identity (a hold belongs to its partner), the registry its tenancy."""

    def __init__(self, call, identity):
        self.call = call  # coalition_common.calls.ServiceCalls' call(service, method, *args, identity=...)
        self.identity = identity

    def _rpc(self, method, *args):
        return self.call("mentor_bank", method, *args, identity=self.identity)

    def program(self, program_id):
        return self.call("registry", "get_program", program_id, identity=self.identity)

    def reserve(self, mentor_id, group_id, ttl_seconds):
        return self._rpc("reserve", mentor_id, group_id, ttl_seconds)

    def confirm(self, group_id):
        return self._rpc("confirm", group_id)

    def release(self, group_id):
        return self._rpc("release", group_id)

    def candidate(self, mentor_id):
        """The mentor in the engine's instance format; NotFound unless the identity may see it."""
        return self._rpc("matching_candidate", mentor_id)


def acting_for(partner_id):
    """The identity the service's timer acts with on a partner's proposals (expiry, follow-up)."""
    return operator("matching-review", ("coordinator",), partner_id)


# --- reading -----------------------------------------------------------------------------------

def view(group):
    # Also for proposals stored before preference traces were withheld from pooled groups.
    return GroupSchema().dump(public(rules.shown_to(group, group.get("partner_id"), group.get("mentor_partner_id"))))


def _own(identity):
    """The tenancy rule `own partner`: the caller's partner's groups (a coalition admin's: all)."""
    return {} if "coalition_admin" in (identity.get("roles") or ()) else {"partner_id": identity.get("partner_id")}


def _find(database, identity, group_id):
    """The group if it is the caller's partner's; NotFound otherwise, whether it exists or not."""
    if not is_group_id(group_id):
        raise NotFound("No such group.")
    group = database.groups.find_one({"_id": group_id, **_own(identity)})
    if group is None:
        raise NotFound("No such group.")
    return group


def read_group(database, identity, group_id):
    return view(_find(database, identity, group_id))


def list_groups(database, identity, query):
    """One page of the caller's partner's proposals and groups, filtered by programme, run and status."""
    query = load(GroupQuerySchema(), query or {})
    filters = _own(identity)
    for name in ("program_id", "run_id", "status"):
        if query[name] is not None:
            filters[name] = query[name]
    found, next_cursor = page(database.groups, filters, query["cursor"], query["limit"], id_pattern=GROUP_ID_PATTERN)
    return {"items": [view(group) for group in found], "next_cursor": next_cursor}


# --- the four eyes -----------------------------------------------------------------------------

def _open(group, now):
    """Conflict unless the group is a proposal still waiting for its review."""
    if group["status"] != PROPOSED:
        raise Conflict(f"The proposal is {group['status']} already; only a proposal waiting for review can be decided or changed.",
                       {"status": [f"Is {group['status']}."]})
    if aware(group["expires_at"]) <= now:
        raise Conflict("The proposal expired; run the matching again.", {"expires_at": ["Passed."]})


def _staff_ids(group):
    return [approval["staff_id"] for approval in group.get("approvals") or ()]


def _same_content(current, read):
    """Whether a group changed only in bookkeeping since `read` (e.g. the first approver's hold
    recorded), so a decision taken on `read` still holds."""
    return (current is not None and current["status"] == read["status"] and current["mentor_id"] == read["mentor_id"]
            and current["mentee_ids"] == read["mentee_ids"] and _staff_ids(current) == _staff_ids(read))


def _holds_place(group, mentor_id):
    """Whether a hold for this group on `mentor_id` belongs to a live proposal or group."""
    return (group is not None and group["status"] in (PROPOSED, APPROVED) and bool(group.get("approvals"))
            and group["mentor_id"] == mentor_id)


def _changed_meanwhile():
    return Conflict("The proposal changed meanwhile (another decision or edit); read it again.", {"version": ["Changed since it was read."]})


def approve(database, identity, bank, group_id, expected_version=None):
    """The caller's approval. Returns (group, outbox entries to publish)."""
    group = _find(database, identity, group_id)
    check_expected(group, expected_version, "group")
    staff_id = identity.get("staff_id")
    for _ in range(ROUNDS):
        now = utcnow()
        _open(group, now)
        if staff_id in _staff_ids(group):
            raise Conflict("You approved this proposal already: a second, different staff member of the programme's partner "
                           "must approve it.", {"approvals": ["Already approved by you."]})
        if not group.get("approvals"):
            return _first_approval(database, bank, group, staff_id, now), []
        done = _second_approval(database, bank, group, staff_id, now)
        if done is not None:
            return done
        group = database.groups.find_one({"_id": group_id})  # only bookkeeping changed: decide again
        if group is None:
            raise NotFound("No such group.")
    raise Conflict("The proposal is changing too often right now; try again.", {"version": ["Busy."]})


def _hold(bank, group, now):
    """Hold one of the mentor's places for the group (idempotent: an existing hold is kept).
    Conflict naming why when the mentor bank refuses."""
    seconds = int((aware(group["expires_at"]) - now).total_seconds())
    try:
        bank.reserve(group["mentor_id"], group["_id"], max(1, min(MAX_HOLD_SECONDS, seconds)))
    except NotFound:
        raise Conflict("The mentor can no longer be matched by your partner: no longer shared with it, or erased.",
                       {"mentor_id": ["visibility: The mentor is no longer visible to the programme's partner."]}) from None
    except Conflict as refused:
        reasons = [message for messages in refused.errors.values() for message in messages] or [refused.detail]
        raise Conflict(f"The mentor was taken meanwhile: {refused.detail}", {"mentor_id": reasons}) from None


def _confirm(bank, group, now):
    _hold(bank, group, now)  # the first approver's hold, or a new one if it ran out or was never made
    try:
        bank.confirm(group["_id"])
    except NotFound:
        raise Conflict("The mentor's hold for this proposal ran out just now; approve again.", {"mentor_id": ["Hold ran out."]}) from None
    except Conflict as refused:
        reasons = [message for messages in refused.errors.values() for message in messages] or [refused.detail]
        raise Conflict(f"The mentor can no longer take this group: {refused.detail}", {"mentor_id": reasons}) from None


def _first_approval(database, bank, group, staff_id, now):
    approval = {"staff_id": staff_id, "at": as_stored(now)}
    # Written before the place is held: a racing approval or edit that wins answers 409 here,
    # having held nothing.
    group = update_versioned(database.groups, group["_id"], version_of(group),
                             {"approvals": [approval], "reserved": False, "updated_at": now}, what="group")
    try:
        _hold(bank, group, now)
    except Conflict:
        _take_back(database, group["_id"], staff_id)
        raise
    return _record_hold(database, bank, group["_id"], staff_id, group["mentor_id"])


def _take_back(database, group_id, staff_id):
    """The mentor bank refused the first approver's hold: their approval goes, edits are open again."""
    for _ in range(ROUNDS):
        group = database.groups.find_one({"_id": group_id})
        if group is None or group["status"] != PROPOSED or staff_id not in _staff_ids(group):
            return
        kept = [approval for approval in group["approvals"] if approval["staff_id"] != staff_id]
        try:
            update_versioned(database.groups, group_id, version_of(group), {"approvals": kept, "updated_at": utcnow()}, what="group")
            return
        except Conflict:
            continue


def _record_hold(database, bank, group_id, staff_id, mentor_id):
    """After the first approver's hold: record it, or give it back if the proposal was rejected
    or expired meanwhile."""
    for _ in range(ROUNDS):
        group = database.groups.find_one({"_id": group_id})
        if not _holds_place(group, mentor_id):
            bank.release(group_id)
            raise Conflict(f"The proposal was {group['status'] if group else 'removed'} meanwhile.",
                           {"status": [f"Is {group['status'] if group else 'gone'}."]})
        if group["status"] == APPROVED or group.get("reserved"):
            return view(group)  # the second approval (or a retry) got there first
        try:
            return view(update_versioned(database.groups, group_id, version_of(group), {"reserved": True}, what="group"))
        except Conflict:
            continue
    raise Conflict("The proposal is changing too often right now; read it again.", {"version": ["Busy."]})


def approved_event(group):
    """`group.approved`: ids and organisations only. Mentees and the mentor by their pseudonymous
    ids; the mentor's partner beside the programme's, so pooled matches can be counted."""
    return {"group_id": group["_id"], "program_id": group["program_id"], "partner_id": group["partner_id"], "run_id": group.get("run_id"),
            "mentor_id": group["mentor_id"], "mentor_partner_id": group["mentor_partner_id"], "mentee_ids": list(group["mentee_ids"]),
            "pooled": group["mentor_partner_id"] != group["partner_id"], "group_size": len(group["mentee_ids"])}


def _second_approval(database, bank, group, staff_id, now):
    """Confirm the hold and make the proposal a group. None when only bookkeeping changed
    meanwhile (decide again)."""
    _still_whole(database, bank, group)
    _confirm(bank, group, now)
    approvals = list(group["approvals"]) + [{"staff_id": staff_id, "at": as_stored(now)}]
    event = outbox_entry("group.approved", approved_event(group))
    try:
        after = update_versioned(database.groups, group["_id"], version_of(group),
                                 {"status": APPROVED, "approvals": approvals, "reserved": True, "approved_at": now,
                                  "updated_at": now, "settled": False}, push={"outbox": event}, what="group")
    except Conflict:
        current = database.groups.find_one({"_id": group["_id"]})
        if _same_content(current, group):
            return None
        if not _holds_place(current, group["mentor_id"]):
            bank.release(group["_id"])  # rejected or expired meanwhile: the place confirmed above is not theirs
        raise _changed_meanwhile() from None
    return view(_settle_quietly(database, bank, after)), [event]


def _still_whole(database, bank, group):
    """Refuse (409) to make a group of a proposal that a member left unnoticed (withdrawn or erased
    before the run wrote it), or that is below the programme's minimum size."""
    found = {m["_id"]: m for m in database.mentees.find({"_id": {"$in": list(group["mentee_ids"])}}, {"status": 1, "group_id": 1})}
    gone = [mentee_id for mentee_id in group["mentee_ids"]
            if (found.get(mentee_id) or {}).get("status") != mentees.PROPOSED or (found.get(mentee_id) or {}).get("group_id") != group["_id"]]
    if gone:
        raise Conflict("A mentee of the proposal is no longer proposed for it (withdrawn, erased or moved); read it again.",
                       {"mentee_ids": [f"{mentee_id}: no longer proposed for this group." for mentee_id in gone]})
    minimum = _settings(database, bank, group)["group_size_min"]
    if len(group["mentee_ids"]) < minimum:
        raise Conflict(f"The proposal has {len(group['mentee_ids'])} mentees, fewer than the programme's minimum of {minimum}: "
                       "reject it.",
                       {"mentee_ids": [f"group_size: Fewer than the programme's minimum of {minimum}."]})


def reject(database, identity, bank, group_id, expected_version=None):
    """Reject a proposal (with or without a first approval): its hold is released, its mentees
    wait again."""
    group = _find(database, identity, group_id)
    check_expected(group, expected_version, "group")
    for _ in range(ROUNDS):
        if group["status"] != PROPOSED:
            raise Conflict(f"The proposal is {group['status']} already; only a proposal waiting for review can be rejected.",
                           {"status": [f"Is {group['status']}."]})
        now = utcnow()
        try:
            after = update_versioned(database.groups, group_id, version_of(group),
                                     {"status": REJECTED, "rejected_at": now, "rejected_by": identity.get("staff_id"),
                                      "updated_at": now, "settled": False}, what="group")
        except Conflict:
            current = database.groups.find_one({"_id": group_id})
            if expected_version is not None or not _same_content(current, group):
                raise _changed_meanwhile() from None
            group = current
            continue
        return view(_settle_quietly(database, bank, after))
    raise Conflict("The proposal is changing too often right now; try again.", {"version": ["Busy."]})


# --- after a decision ----------------------------------------------------------------------------

def _settle(database, bank, group):
    """What follows a decision, repeatable: a rejected or expired proposal gives its place back
    and its mentees wait again; an approved group's mentees are matched. Returns the group as
    stored afterwards."""
    group_id = group["_id"]
    if group["status"] in (REJECTED, EXPIRED):
        bank.release(group_id)
        move = ("waiting", None)
    elif group["status"] == APPROVED:
        move = ("matched", group_id)
    else:
        return group
    for mentee_id in group["mentee_ids"]:
        mentee = database.mentees.find_one({"_id": mentee_id}, {"group_id": 1})
        if mentee is not None and mentee.get("group_id") == group_id:  # moved to another proposal: not this one's to move
            mentees.move_status(database, mentee_id, (mentees.PROPOSED,), *move)
    for _ in range(ROUNDS):
        current = database.groups.find_one({"_id": group_id})
        if current is None or current.get("settled", True):
            return current or group
        try:
            return update_versioned(database.groups, group_id, version_of(current), {"settled": True}, what="group")
        except Conflict:
            continue
    return group


def _settle_quietly(database, bank, group):
    """Settle now; should the mentor bank or the database be away, the timer settles it later."""
    try:
        return _settle(database, bank, group)
    except Exception as exc:  # noqa: BLE001 - the decision is stored; only its follow-up waits
        log.warning("group %s: follow-up left to the timer (%s)", group["_id"], type(exc).__name__)
        return group


def expire_due(database, bank_for, now=None, limit=200):
    """The timer's work: expire proposals whose time ran out, and finish decisions a crash left
    unsettled. `bank_for(partner_id)` gives Services acting for that partner. Returns how
    many proposals expired."""
    now = now or utcnow()
    expired = 0
    for group in list(database.groups.find({"status": PROPOSED, "expires_at": {"$lte": now}}).limit(limit)):
        try:
            after = update_versioned(database.groups, group["_id"], version_of(group),
                                     {"status": EXPIRED, "expired_at": now, "updated_at": now, "settled": False}, what="group")
        except (Conflict, NotFound):
            continue  # decided or changed meanwhile; looked at again next time if still due
        expired += 1
        _settle_quietly(database, bank_for(after["partner_id"]), after)
    for group in list(database.groups.find({"settled": False, "updated_at": {"$lt": now - SETTLE_GRACE}}).limit(limit)):
        _settle_quietly(database, bank_for(group["partner_id"]), group)
    return expired


# --- edits before the first approval -----------------------------------------------------------

def _editable(group, now):
    _open(group, now)
    if group.get("approvals"):
        raise Conflict("The proposal has a first approval: it can no longer be changed. Reject it to change it.",
                       {"approvals": ["Approved once already."]})


def _settings(database, bank, group):
    """The programme's matching settings as a run uses them (rule set, weights, group sizes,
    minimum language level), the programme read from the registry as the caller."""
    return settings.effective(database, bank.program(group["program_id"]))


def _engine_mentees(database, mentee_ids, now):
    """The mentees in the engine's instance format, by id (mentees.instance_of: nothing personal)."""
    found = {mentee["_id"]: mentees.instance_of(mentee, now) for mentee in database.mentees.find({"_id": {"$in": list(mentee_ids)}})}
    missing = [mentee_id for mentee_id in mentee_ids if mentee_id not in found]
    if missing:
        raise Conflict("A mentee of the proposal is gone (erased); read the proposal again.", {"mentee_id": ["Gone."]})
    return found


def _engine_mentor(bank, mentor_id):
    try:
        return bank.candidate(mentor_id)
    except NotFound:
        return None


def _rescored(chosen, group, mentor, mentees_):
    """The explanation of `mentor` with `mentees_` as the group's partner may see and keep it
    (rules.shown_to: no preference trace when the mentor is another partner's)."""
    return rules.shown_to(rules.explain_group(chosen, mentor, mentees_), group["partner_id"], mentor.get("partner_id"))


def _explained(explanation, now):
    """The fields of a group that an explanation (rules.explain_group) gives."""
    return {"mentee_ids": list(explanation["mentee_ids"]), "common": explanation["common"], "rule_set": explanation["rule_set"],
            "score": explanation["score"], "members": explanation["members"], "updated_at": now}


def _refused(errors):
    return ValidationFailed("The change breaks a hard rule.", errors)


def _messages(problems, skip=()):
    return [f"{problem['rule']}: {problem['detail']}" for problem in problems if problem["rule"] not in skip]


def move_mentee(database, identity, bank, group_id, payload, expected_version=None):
    """Move a mentee into this proposal from another proposal of the same run. Returns both,
    rescored."""
    fields = load(MenteeMoveSchema(), payload)
    target = _find(database, identity, group_id)
    check_expected(target, expected_version, "group")
    now = utcnow()
    _editable(target, now)
    source = _find(database, identity, fields["from_group_id"])
    mentee_id = fields["mentee_id"]
    if source["_id"] == target["_id"]:
        raise ValidationFailed("The mentee is in this proposal already.", {"from_group_id": ["Must be another proposal."]})
    _editable(source, now)
    if source["run_id"] != target["run_id"]:
        raise ValidationFailed("Mentees move only between proposals of one run.", {"from_group_id": ["Must be a proposal of the same run."]})
    if mentee_id not in source["mentee_ids"]:
        raise ValidationFailed("The mentee is not in that proposal.", {"mentee_id": ["Not a member of from_group_id."]})
    chosen = _settings(database, bank, target)
    into = list(target["mentee_ids"]) + [mentee_id]
    left = [other for other in source["mentee_ids"] if other != mentee_id]
    engine = _engine_mentees(database, into + left, now)
    mentors = {}
    for group in (target, source):
        mentors[group["_id"]] = _engine_mentor(bank, group["mentor_id"])
        if mentors[group["_id"]] is None:
            raise Conflict("The mentor of a proposal is no longer one your partner may match; swap the mentor or reject the proposal.",
                           {"mentor_id": ["visibility: No longer visible to the programme's partner."]})
    errors = {}
    joining = _messages(rules.group_problems(chosen, mentors[target["_id"]], [engine[m] for m in into]), skip=MENTOR_RULES)
    leaving = _messages(rules.group_problems(chosen, mentors[source["_id"]], [engine[m] for m in left]), skip=MENTOR_RULES)
    if joining:
        errors["mentee_id"] = joining
    if leaving:
        errors["from_group_id"] = leaving
    if errors:
        raise _refused(errors)
    into_explained = _rescored(chosen, target, mentors[target["_id"]], [engine[m] for m in into])
    left_explained = _rescored(chosen, source, mentors[source["_id"]], [engine[m] for m in left])
    # The mentee leaves first, then joins: in between they belong to no proposal, never to two.
    source_after = update_versioned(database.groups, source["_id"], version_of(source), _explained(left_explained, now), what="group")
    try:
        target_after = update_versioned(database.groups, target["_id"], version_of(target), _explained(into_explained, now), what="group")
    except (Conflict, NotFound):
        _put_back(database, source, source_after, mentee_id)
        raise _changed_meanwhile() from None
    if mentees.move_status(database, mentee_id, (mentees.PROPOSED,), mentees.PROPOSED, group_id=target["_id"]) is None:
        current = database.mentees.find_one({"_id": mentee_id}, {"status": 1, "group_id": 1}) or {}
        if current.get("status") != mentees.PROPOSED or current.get("group_id") != target["_id"]:
            _undo_move(database, source, source_after, target, target_after, mentee_id, current)
            raise Conflict("The mentee changed meanwhile (withdrawn, erased or changing); the move was undone, read both proposals "
                           "again.", {"mentee_id": ["Changed meanwhile."]})
    return {"group": view(target_after), "from_group": view(source_after)}


def _undo_move(database, source, source_after, target, target_after, mentee_id, current):
    """The mentee's own move lost (withdrawn or erased meanwhile, or lost races): the target as it
    was (else the mentee leaves it), and the source as it was if the mentee is still its."""
    restored = {name: target.get(name) for name in ("mentee_ids", "common", "rule_set", "score", "members")}
    try:
        update_versioned(database.groups, target_after["_id"], version_of(target_after), dict(restored, updated_at=utcnow()), what="group")
    except (Conflict, NotFound):
        leave_proposal(database, mentee_id, group_id=target["_id"])
    if current.get("status") == mentees.PROPOSED and current.get("group_id") == source["_id"]:
        _put_back(database, source, source_after, mentee_id)


def _put_back(database, before, after, mentee_id):
    """Undo the first half of a move whose second half lost a race: the source proposal as it was,
    if nobody changed it since; else the mentee waits again, in no proposal."""
    restored = {name: before.get(name) for name in ("mentee_ids", "common", "rule_set", "score", "members")}
    try:
        update_versioned(database.groups, after["_id"], version_of(after), dict(restored, updated_at=utcnow()), what="group")
    except (Conflict, NotFound):
        mentees.move_status(database, mentee_id, (mentees.PROPOSED,), mentees.WAITING, None)


def _open_proposals_of(database, mentor_id, except_group_id):
    """Other proposals naming the mentor that do not hold a place yet: each may claim one when approved."""
    return database.groups.count_documents({"mentor_id": mentor_id, "status": PROPOSED, "reserved": {"$ne": True},
                                            "_id": {"$ne": except_group_id}})


def swap_mentor(database, identity, bank, group_id, payload, expected_version=None):
    """Give the proposal another mentor. Returns it, rescored."""
    fields = load(MentorSwapSchema(), payload)
    group = _find(database, identity, group_id)
    check_expected(group, expected_version, "group")
    now = utcnow()
    _editable(group, now)
    mentor = _engine_mentor(bank, fields["mentor_id"])  # as the caller: the mentor bank applies the pooling rules
    if mentor is None:
        raise _refused({"mentor_id": ["visibility: Not a mentor the programme's partner may match (not shared with it, or no such mentor)."]})
    mentor = dict(mentor, places=max(0, mentor.get("places", 0) - _open_proposals_of(database, mentor["id"], group_id)))
    chosen = _settings(database, bank, group)
    engine = _engine_mentees(database, group["mentee_ids"], now)
    team = [engine[m] for m in group["mentee_ids"]]
    problems = _messages(rules.group_problems(chosen, mentor, team))
    if problems:
        raise _refused({"mentor_id": problems})
    explanation = _rescored(chosen, group, mentor, team)
    changes = dict(_explained(explanation, now), mentor_id=mentor["id"], mentor_partner_id=mentor["partner_id"])
    return view(update_versioned(database.groups, group_id, version_of(group), changes, what="group"))


# --- mentees who leave ---------------------------------------------------------------------------

def leave_proposal(database, mentee_id, group_id=None):
    """A mentee withdrawn or erased leaves the proposal (or group) they were in (given
    `group_id`, that one only). The remaining members keep their explanations. Returns the ids
    of the groups they left."""
    left = []
    query = {"mentee_ids": mentee_id, "status": {"$in": [PROPOSED, APPROVED]}}
    if group_id is not None:
        query["_id"] = group_id
    for group in list(database.groups.find(query)):
        for _ in range(ROUNDS):
            if group is None or mentee_id not in group["mentee_ids"] or group["status"] not in (PROPOSED, APPROVED):
                break
            changes = {"mentee_ids": [m for m in group["mentee_ids"] if m != mentee_id],
                       "members": [m for m in group.get("members") or () if m.get("mentee_id") != mentee_id], "updated_at": utcnow()}
            try:
                update_versioned(database.groups, group["_id"], version_of(group), changes, what="group")
                left.append(group["_id"])
                break
            except Conflict:
                group = database.groups.find_one({"_id": group["_id"]})
            except NotFound:
                break
    return left


def on_mentee_left(database, event):
    """`mentee.withdrawn` / `mentee.erased`: a mentee who was proposed or matched leaves their
    group. Looked up by the mentee, not by the event's `group_id`: a move between proposals may
    have changed it meanwhile."""
    if event.get("from_status") in (mentees.PROPOSED, mentees.MATCHED) or event.get("group_id"):
        leave_proposal(database, event["mentee_id"])
