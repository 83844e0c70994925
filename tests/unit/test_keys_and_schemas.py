import hashlib

import pytest
from marshmallow import ValidationError

from registry import keys
from registry.schemas import PartnerSchema, StaffSchema


def test_generated_keys_are_long_random_and_carry_their_visible_prefix():
    first, prefix = keys.generate_key()
    second, _ = keys.generate_key()
    assert first != second
    assert first.startswith(prefix + "_")
    secret = first.split("_", 2)[2]
    # token_urlsafe(24) is 192 random bits: at least the 128 the design asks for.
    assert len(secret) >= 32
    assert keys.visible_prefix(first) == prefix


def test_only_a_hash_of_the_key_is_derived_for_storage():
    key, _ = keys.generate_key()
    stored = keys.hash_key(key)
    assert stored == hashlib.sha256(key.encode()).hexdigest()
    assert key not in stored


def test_partner_schema_refuses_server_set_fields():
    with pytest.raises(ValidationError) as err:
        PartnerSchema().load({"name": "Org", "kind": "ngo", "region": "CA-ON", "status": "suspended", "id": "x"})
    assert set(err.value.messages) == {"status", "id"}


@pytest.mark.parametrize(
    "field,value",
    [("kind", "bank"), ("region", "Ontario"), ("sectors", ["ABC"]), ("name", 7)],
)
def test_partner_schema_names_the_field_at_fault(field, value):
    payload = {"name": "Org", "kind": "ngo", "region": "CA-ON", field: value}
    with pytest.raises(ValidationError) as err:
        PartnerSchema().load(payload)
    assert list(err.value.messages) == [field]


def test_staff_schema_requires_known_roles():
    with pytest.raises(ValidationError) as err:
        StaffSchema().load({"name": "A", "email": "a@example.org", "roles": ["superuser"]})
    assert "roles" in err.value.messages
