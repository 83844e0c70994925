"""The shared mentor pool. A partner joins by accepting the coalition charter (the registry
tells us by event). Until then its mentors stay private and it cannot see pooled mentors.
Other partners see a pooled mentor's profession, region, languages and experience, never their
name or contact details: those stay with the partner that recruited them."""
from coalition_common.ids import utcnow
from coalition_common.pagination import page
from coalition_common.schemas import public
from mentor_bank.schemas import MentorSchema

POOLED_FIELDS = ("id", "partner_id", "occupation", "region", "languages", "years_experience", "max_groups", "status")


def join(database, event):
    """Idempotent: a redelivered event sets the same values again."""
    database.pool_partners.update_one(
        {"_id": event["partner_id"]},
        {"$set": {"version": event["version"], "joined_at": utcnow()}},
        upsert=True,
    )


def visible_query(database, identity):
    if "coalition_admin" in identity.get("roles", ()):
        return {}
    own = identity.get("partner_id")
    if database.pool_partners.find_one({"_id": own}) is None:
        return {"partner_id": own}
    pooled = [p["_id"] for p in database.pool_partners.find({}, {"_id": 1})]
    return {"$or": [{"partner_id": own}, {"partner_id": {"$in": pooled}}]}


def list_mentors(database, identity, cursor=None, limit=50):
    documents, next_cursor = page(database.mentors, visible_query(database, identity), cursor, limit)
    admin = "coalition_admin" in identity.get("roles", ())
    items = []
    for document in documents:
        mentor = MentorSchema().dump(public(document))
        if not admin and document["partner_id"] != identity.get("partner_id"):
            mentor = {k: v for k, v in mentor.items() if k in POOLED_FIELDS}
        items.append(mentor)
    return {"items": items, "next_cursor": next_cursor}
