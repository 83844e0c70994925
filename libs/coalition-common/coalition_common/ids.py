"""Identifiers and timestamps as every service stores them."""
import datetime
import uuid


def new_id():
    return uuid.uuid4().hex


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)
