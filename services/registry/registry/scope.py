"""Which partners an identity may see and change. Every query for a tenant's object goes through
here, so another tenant's object is simply not found."""
from coalition_common.errors import NotFound


def both(first, second):
    return {"$and": [first, second]} if second else first


def is_admin(identity):
    return "coalition_admin" in identity.get("roles", ())


def readable_partner_query(identity):
    """A partners-collection filter for what the caller may read: everything for a coalition
    admin; for a hub's staff, the hub and the partners that report to it; else their own partner."""
    if is_admin(identity):
        return {}
    own = identity.get("partner_id")
    if own and identity.get("hub_id") == own:
        return {"$or": [{"_id": own}, {"hub_id": own}]}
    return {"_id": own}


def readable_partner_ids(database, identity):
    if is_admin(identity):
        return None  # no restriction
    own = identity.get("partner_id")
    if not (own and identity.get("hub_id") == own):
        return [own]  # known without asking the database
    return [p["_id"] for p in database.partners.find(readable_partner_query(identity), {"_id": 1})]


def tenant_filter(database, identity, field="partner_id"):
    """A filter for objects that carry a partner id, restricted to what the caller may read."""
    ids = readable_partner_ids(database, identity)
    return {} if ids is None else {field: {"$in": ids}}


def writable(identity, partner_id):
    """Writes stay within the caller's own partner (a hub reads across its partners but does
    not manage their staff or programmes); coalition admins may write anywhere."""
    return is_admin(identity) or (partner_id is not None and partner_id == identity.get("partner_id"))


def find_readable(database, collection, identity, object_id, what):
    """The object if the caller may read it, else NotFound, whether it exists or not."""
    if not isinstance(object_id, str) or len(object_id) > 64:
        raise NotFound(f"No such {what}.")
    document = database[collection].find_one(both({"_id": object_id}, tenant_filter(database, identity)))
    if document is None:
        raise NotFound(f"No such {what}.")
    return document


def find_writable(database, collection, identity, object_id, what):
    document = find_readable(database, collection, identity, object_id, what)
    if not writable(identity, document.get("partner_id")):
        raise NotFound(f"No such {what}.")
    return document


def find_readable_partner(database, identity, partner_id):
    if not isinstance(partner_id, str) or len(partner_id) > 64:
        raise NotFound("No such partner.")
    document = database.partners.find_one(both({"_id": partner_id}, readable_partner_query(identity)))
    if document is None:
        raise NotFound("No such partner.")
    return document


def find_writable_partner(database, identity, partner_id):
    document = find_readable_partner(database, identity, partner_id)
    if not writable(identity, partner_id):
        raise NotFound("No such partner.")
    return document


def own_partner_query(identity):
    """Objects of the caller's own partner only (everything for a coalition admin): for actions
    whose tenancy rule is the own partner, such as a partner's staff and webhooks, which hub staff
    do not read."""
    return {} if is_admin(identity) else {"partner_id": identity.get("partner_id")}


def find_own(database, collection, identity, object_id, what):
    """The object if it belongs to the caller's own partner (any, for a coalition admin), else NotFound."""
    if not isinstance(object_id, str) or len(object_id) > 64:
        raise NotFound(f"No such {what}.")
    document = database[collection].find_one(both({"_id": object_id}, own_partner_query(identity)))
    if document is None:
        raise NotFound(f"No such {what}.")
    return document
