"""A small demo coalition: enough partners, staff, mentors and mentees to click through.
Every person here is invented."""
from coalition_common.identity import operator

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
    # Not enrolled yet: `make up` prints the token, to try POST /api/v1/enrolments.
    {"partner": "ngo", "name": "Samir Haddad", "email": "samir.haddad@harbour.example", "roles": ["analyst"], "enrolled": False},
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
SEED_IDENTITY = operator("seed-demo")


def seed(call):
    """Create the demo coalition through the services' own RPC entrypoints. `call(service,
    method, *args, identity=...)` signs the identity it is given (the platform's own principal
    when None). Returns the demo credentials (staff email, roles, key), or None if data exists."""
    admin = SEED_IDENTITY
    if call("registry", "count_partners", identity=admin) > 0:
        return None
    partner_ids = {}
    for partner in PARTNERS:
        fields = {k: v for k, v in partner.items() if k not in ("key", "hub")}
        if partner.get("hub"):
            fields["hub_id"] = partner_ids[partner["hub"]]
        partner_ids[partner["key"]] = call("registry", "register_partner", fields, identity=admin)["id"]
    credentials = []
    for member in STAFF:
        fields = {k: v for k, v in member.items() if k not in ("partner", "enrolled")}
        staff = call("registry", "add_staff", partner_ids[member["partner"]], fields, identity=admin)
        credential = {"partner": member["partner"], "email": member["email"], "roles": member["roles"]}
        if member.get("enrolled", True):
            # Each person's first key comes from their own enrolment token, as it would for real staff.
            credential["key"] = call("registry", "exchange_enrolment", staff["enrolment_token"], {"label": "demo"})["key"]
        else:
            credential["enrolment_token"] = staff["enrolment_token"]
        credentials.append(credential)
    for mentor in MENTORS:
        recruiter = operator("seed-demo", roles=("recruiter",), partner_id=partner_ids[mentor["partner"]])
        call("mentor_bank", "register_mentor", {k: v for k, v in mentor.items() if k != "partner"}, identity=recruiter)
    for mentee in MENTEES:
        coordinator = operator("seed-demo", roles=("coordinator",), partner_id=partner_ids[mentee["partner"]])
        call("matching", "enrol_mentee", {k: v for k, v in mentee.items() if k != "partner"}, identity=coordinator)
    return credentials
