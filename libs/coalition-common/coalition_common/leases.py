"""Leases on background jobs that whichever service instance's timer finds first may take.

A claim is a unique insert of `{_id: "<job id>:<attempt>"}` into a claims collection, which both
MongoDB and FerretDB refuse atomically when taken (FerretDB 1.x applies a conditional update such
as "status: pending -> running" non-atomically, so two instances could both win it). The holder
renews its claim as it works; a claim not renewed for `lasts` belongs to a worker that died, and
the next attempt is claimed by another unique insert, so of two instances taking over only one
wins. A holder that finds a later attempt claimed stops (LeaseLost).

Used by the mentor bank's CSV imports and by matching runs.
"""
import logging

from pymongo.errors import DuplicateKeyError

from coalition_common.ids import aware, utcnow

log = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another instance took the job over: this one stops."""


class Lease:
    """This worker's claim on one attempt at a job. `key` names the claims' field holding the job id."""

    def __init__(self, claims, job_id, attempt, key="job_id"):
        self.claims = claims
        self.job_id = job_id
        self.attempt = attempt
        self.key = key
        self.claim_id = f"{job_id}:{attempt}"

    @classmethod
    def take(cls, claims, job_id, *, lasts, key="job_id", now=None):
        """The next attempt at the job, or None while another worker's claim is alive."""
        now = now or utcnow()
        latest = claims.find_one({key: job_id}, sort=[("attempt", -1)])
        if latest is None:
            attempt = 0
        elif aware(latest["renewed_at"]) > now - lasts:
            return None
        else:
            attempt = latest["attempt"] + 1
        try:
            claims.insert_one({"_id": f"{job_id}:{attempt}", key: job_id, "attempt": attempt, "renewed_at": now})
        except DuplicateKeyError:
            return None  # another instance claimed this attempt first
        if attempt:
            log.warning("%s %s taken over (attempt %d)", claims.name, job_id, attempt)
        return cls(claims, job_id, attempt, key)

    def renew(self):
        """Keep the claim alive; LeaseLost if a later attempt was claimed meanwhile."""
        if self.claims.find_one({self.key: self.job_id, "attempt": {"$gt": self.attempt}}, {"_id": 1}):
            raise LeaseLost(self.job_id)
        self.claims.update_one({"_id": self.claim_id}, {"$set": {"renewed_at": utcnow()}})

    def end(self):
        """The job is finished: every claim on it goes."""
        self.claims.delete_many({self.key: self.job_id})
