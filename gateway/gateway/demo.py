"""A small demo coalition: enough partners, staff, mentors and mentees to click through.
Every person here is invented."""

PARTNERS = [
    {"key": "hub", "name": "Lakeshore Regional Mentoring Hub", "kind": "regional_hub", "region": "CA-ON", "sectors": []},
    {"key": "ngo", "name": "Harbour Newcomer Services", "kind": "ngo", "region": "CA-ON", "sectors": ["2", "3"], "hub": "hub"},
    {"key": "employer", "name": "Northwind Engineering Ltd", "kind": "employer", "region": "CA-ON", "sectors": ["21", "31"], "hub": "hub"},
    {"key": "association", "name": "Provincial Association of Accountants", "kind": "industry_association", "region": "CA-ON", "sectors": ["24"], "hub": "hub"},
]

STAFF = [
    {"partner": "hub", "name": "Amara Okafor", "email": "amara.okafor@hub.example", "roles": ["analyst"]},
    {"partner": "ngo", "name": "Lucia Ferreira", "email": "lucia.ferreira@harbour.example", "roles": ["partner_admin"]},
    {"partner": "ngo", "name": "Tomas Novak", "email": "tomas.novak@harbour.example", "roles": ["coordinator"]},
    {"partner": "employer", "name": "Priya Raman", "email": "priya.raman@northwind.example", "roles": ["recruiter"]},
    {"partner": "association", "name": "Jonas Berg", "email": "jonas.berg@accountants.example", "roles": ["coordinator"]},
]

MENTORS = [
    {"partner": "employer", "given_name": "Elena", "family_name": "Marsh", "email": "elena.marsh@northwind.example",
     "occupation": "2142", "region": "CA-ON", "languages": [{"code": "en", "level": "C2"}], "years_experience": 15},
    {"partner": "employer", "given_name": "Kwame", "family_name": "Mensah", "email": "kwame.mensah@northwind.example",
     "occupation": "2144", "region": "CA-ON", "languages": [{"code": "en", "level": "C2"}, {"code": "fr", "level": "B2"}], "years_experience": 9},
    {"partner": "association", "given_name": "Sofia", "family_name": "Lindqvist", "email": "sofia.lindqvist@accountants.example",
     "occupation": "2411", "region": "CA-ON", "languages": [{"code": "en", "level": "C2"}], "years_experience": 20},
]

MENTEES = [
    {"partner": "ngo", "given_name": "Yusuf", "family_name": "Haddad", "email": "yusuf.haddad@mail.example", "occupation": "2142",
     "region": "CA-ON", "languages": [{"code": "ar", "level": "C2"}, {"code": "en", "level": "B2"}], "goals": ["Licensure as a civil engineer"], "consent_to_share": True},
    {"partner": "ngo", "given_name": "Olena", "family_name": "Kovalenko", "email": "olena.kovalenko@mail.example", "occupation": "2144",
     "region": "CA-ON", "languages": [{"code": "uk", "level": "C2"}, {"code": "en", "level": "B1"}], "goals": ["Mechanical design role"], "consent_to_share": True},
    {"partner": "ngo", "given_name": "Ana", "family_name": "Restrepo", "email": "ana.restrepo@mail.example", "occupation": "2411",
     "region": "CA-ON", "languages": [{"code": "es", "level": "C2"}, {"code": "en", "level": "B2"}], "goals": ["CPA pathway"], "consent_to_share": True},
    {"partner": "ngo", "given_name": "Farid", "family_name": "Rahimi", "email": "farid.rahimi@mail.example", "occupation": "2142",
     "region": "CA-ON", "languages": [{"code": "fa", "level": "C2"}, {"code": "en", "level": "B1"}], "goals": ["Site engineer"], "consent_to_share": True},
]


# The operator running the seed acts as a coalition admin; the audit log names it as such.
SEED_IDENTITY = {"staff_id": "operator:seed-demo", "partner_id": None, "hub_id": None, "roles": ["coalition_admin"]}


def seed(call):
    """Create the demo coalition through the services' own RPC entrypoints.
    Returns the demo credentials (staff email, roles, key), or None if data already exists."""
    if call("registry", "count_partners") > 0:
        return None
    admin = SEED_IDENTITY
    partner_ids = {}
    for partner in PARTNERS:
        fields = {k: v for k, v in partner.items() if k not in ("key", "hub")}
        if partner.get("hub"):
            fields["hub_id"] = partner_ids[partner["hub"]]
        partner_ids[partner["key"]] = call("registry", "register_partner", admin, fields)["id"]
    credentials = []
    for member in STAFF:
        fields = {k: v for k, v in member.items() if k != "partner"}
        staff = call("registry", "add_staff", admin, partner_ids[member["partner"]], fields)
        key = call("registry", "issue_key", admin, staff["id"])
        credentials.append({"partner": member["partner"], "email": member["email"], "roles": member["roles"], "key": key["key"]})
    for mentor in MENTORS:
        call("mentor_bank", "register_mentor", partner_ids[mentor["partner"]], {k: v for k, v in mentor.items() if k != "partner"})
    for mentee in MENTEES:
        call("matching", "enrol_mentee", partner_ids[mentee["partner"]], {k: v for k, v in mentee.items() if k != "partner"})
    return credentials
