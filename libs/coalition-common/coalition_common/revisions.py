"""Optimistic concurrency that holds on MongoDB and on FerretDB 1.x alike.

Every updatable document carries an integer `version` (1 when created). A writer reads the
document, decides, and then writes "version n becomes n + 1". FerretDB 1.x does not apply a
conditional update atomically (it reads, computes and rewrites the whole document), so two
writers that both read version n could both "succeed". What decides instead is a claim: the
writer inserts `{_id: "<document id>:<n + 1>"}` into `<collection>_revisions`. A duplicate `_id`
is refused atomically by both databases, so exactly one writer gets each version; the others
answer 409.

A writer that crashed between its claim and its write would block the document for good, so a
claim older than STALE_AFTER, on a document still at the version it was claimed from, is taken
over by claiming the next attempt, `"<document id>:<n + 1>:<attempt>"`, with the same unique
insert: of two writers taking over one stale claim only one wins. (Deleting the stale claim and
inserting it again would not do: FerretDB deletes by `_id` after its query, so it can delete a
claim another writer made in between.)

After a successful write the claims of the version left behind are deleted, so a document keeps
one claim (two just after a takeover).
"""
import datetime
import logging

from pymongo import ASCENDING, ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from coalition_common.errors import Conflict, NotFound, PreconditionFailed
from coalition_common.ids import aware, utcnow

log = logging.getLogger(__name__)

# Far longer than any write takes; short enough that a crashed writer's claim soon stops mattering.
STALE_AFTER = datetime.timedelta(seconds=10)


def version_of(document):
    """Documents stored before versions existed count as version 0."""
    return document.get("version") or 0


def at_version(version):
    """A filter fragment for a document at `version` (0: no version stored yet)."""
    return {"version": version} if version else {"version": None}


def check_expected(document, expected_version, what="document"):
    """Refuse with 412 when the caller's If-Match version is not the stored one. A value that is
    not a whole number can match no version, so it fails the same way."""
    if expected_version is None:
        return
    if isinstance(expected_version, bool) or not isinstance(expected_version, int) or expected_version != version_of(document):
        raise PreconditionFailed(
            f"The {what} has changed since that version was read; read it again.",
            {"version": ["Does not match the stored version."]},
        )


def claims_of(collection):
    return collection.database[f"{collection.name}_revisions"]


def ensure_versions(collection):
    """Migration: documents stored before this change get version 1; the claims index. Idempotent."""
    collection.update_many({"version": None}, {"$set": {"version": 1}})
    claims_of(collection).create_index([("document_id", ASCENDING), ("version", ASCENDING)])


def update_versioned(collection, document_id, expected_version, set_fields, *, push=None, what="document"):
    """Apply `$set: set_fields` (and `$push: push`, e.g. same-document outbox entries) to the
    document if it is still at `expected_version`, making it `expected_version + 1`.
    Returns the updated document. Conflict (409) when another writer got there first, NotFound
    when the document is gone. Errors from the write itself (e.g. a unique index) propagate."""
    claims = claims_of(collection)
    claim_id = _claim(collection, document_id, expected_version, what)
    change = {"$inc": {"version": 1}}
    if set_fields:
        change["$set"] = set_fields
    if push:
        change["$push"] = push
    try:
        document = collection.find_one_and_update(
            {"_id": document_id, **at_version(expected_version)}, change, return_document=ReturnDocument.AFTER
        )
    except BaseException:
        _release(claims, claim_id)
        raise
    if document is None:
        _release(claims, claim_id)
        raise _missing_or_changed(collection, document_id, what)
    claims.delete_many({"document_id": document_id, "version": expected_version})
    return document


def delete_versioned(collection, document_id, expected_version, *, what="document"):
    """Delete the document if it is still at `expected_version`; same errors as update_versioned.
    Afterwards its claims go too: a late writer then claims freely but finds no document (404)."""
    claims = claims_of(collection)
    claim_id = _claim(collection, document_id, expected_version, what)
    try:
        deleted = collection.delete_one({"_id": document_id, **at_version(expected_version)}).deleted_count
    except BaseException:
        _release(claims, claim_id)
        raise
    if not deleted:
        _release(claims, claim_id)
        raise _missing_or_changed(collection, document_id, what)
    claims.delete_many({"document_id": document_id})


def pull_unversioned(collection, document_id, entry):
    """Remove a published outbox entry without making a new version. FerretDB writes back the
    whole document it read, so a plain `$pull` beside a versioned change could undo that change;
    here the removal holds the next version's claim meanwhile. When a writer holds it, the entry
    stays, and the relay publishes it again later (consumers apply each event once).
    True when the entry was removed here."""
    current = collection.find_one({"_id": document_id}, {"version": 1})
    if current is None:
        return False
    try:
        claim_id = _claim(collection, document_id, version_of(current), "document")
    except (Conflict, NotFound):
        return False
    try:
        pulled = collection.update_one({"_id": document_id, **at_version(version_of(current))}, {"$pull": {"outbox": entry}})
        return pulled.modified_count == 1
    finally:
        _release(claims_of(collection), claim_id)


def _changed(what):
    return Conflict(f"The {what} changed meanwhile; read it again and retry.", {"version": ["Changed since it was read."]})


def _missing_or_changed(collection, document_id, what):
    if collection.find_one({"_id": document_id}, {"_id": 1}) is None:
        return NotFound(f"No such {what}.")
    return _changed(what)


def _inserted(claims, claim):
    try:
        claims.insert_one(claim)
        return True
    except DuplicateKeyError:
        return False


def _release(claims, claim_id):
    """Give up a claim this writer holds; nobody else can hold the same `_id` meanwhile. Should
    the database be away, the claim goes stale and is taken over later."""
    try:
        claims.delete_one({"_id": claim_id})
    except PyMongoError:
        log.warning("could not release a revision claim; it will be taken over once stale")


def _claim(collection, document_id, expected_version, what):
    """Claim version `expected_version + 1` of the document; returns the claim's `_id`."""
    claims = claims_of(collection)
    version = expected_version + 1
    claim = {"_id": f"{document_id}:{version}", "document_id": document_id, "version": version, "attempt": 0, "claimed_at": utcnow()}
    if _inserted(claims, claim):
        return claim["_id"]
    # Taken. Only worth a second look while the document is still at the version we read.
    current = collection.find_one({"_id": document_id}, {"version": 1})
    if current is None:
        raise NotFound(f"No such {what}.")
    if version_of(current) != expected_version:
        raise _changed(what)
    latest = claims.find_one({"document_id": document_id, "version": version}, sort=[("attempt", -1)])
    if latest is not None and utcnow() - aware(latest["claimed_at"]) < STALE_AFTER:
        raise _changed(what)  # a writer is at work
    # Its writer crashed (or gave the claim up just now): take over with the next attempt, once.
    attempt = latest["attempt"] + 1 if latest is not None else 0
    claim = dict(claim, attempt=attempt, claimed_at=utcnow())
    if attempt:
        claim["_id"] = f"{document_id}:{version}:{attempt}"
    if not _inserted(claims, claim):
        raise _changed(what)
    if attempt:
        log.warning("took over a stale revision claim in %s", claims.name)
    return claim["_id"]
