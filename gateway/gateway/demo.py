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

# Mentors in three partners. "pooled" ones consented to coalition sharing; "ready" ones are
# screened, oriented and active, so they can be matched at once.
MENTORS = [
    {"partner": "employer", "pooled": True, "ready": True, "given_name": "Elena", "family_name": "Marsh",
     "email": "elena.marsh@northwind.example", "occupations": ["2142"], "sectors": ["21"], "region": "CA-ON", "city": "Toronto",
     "languages": [{"code": "en", "level": "native"}], "years_experience": 15, "modes": ["in_person", "hybrid"],
     "availability": ["tue_evening", "thu_evening"], "capacity": 2, "employer": "Northwind Engineering Ltd"},
    {"partner": "employer", "pooled": True, "ready": True, "given_name": "Kwame", "family_name": "Mensah",
     "email": "kwame.mensah@northwind.example", "occupations": ["2144", "2149"], "sectors": ["21"], "region": "CA-ON", "city": "Hamilton",
     "languages": [{"code": "en", "level": "C2"}, {"code": "fr", "level": "B2"}], "years_experience": 9, "modes": ["virtual"],
     "availability": ["mon_evening", "wed_evening", "sat_morning"], "supports_communication_needs": True},
    {"partner": "employer", "pooled": False, "ready": True, "given_name": "Hannah", "family_name": "Cole",
     "email": "hannah.cole@northwind.example", "occupations": ["2151"], "sectors": ["21"], "region": "CA-ON",
     "languages": [{"code": "en", "level": "native"}], "years_experience": 6, "modes": ["virtual", "hybrid"], "availability": ["fri_afternoon"]},
    {"partner": "employer", "pooled": True, "ready": False, "given_name": "Rafael", "family_name": "Duarte",
     "email": "rafael.duarte@northwind.example", "occupations": ["2512"], "sectors": ["25"], "region": "CA-ON",
     "languages": [{"code": "en", "level": "C1"}, {"code": "pt", "level": "native"}], "years_experience": 11, "modes": ["virtual"],
     "availability": ["tue_evening"]},
    {"partner": "association", "pooled": True, "ready": True, "given_name": "Sofia", "family_name": "Lindqvist",
     "email": "sofia.lindqvist@accountants.example", "occupations": ["2411"], "sectors": ["24"], "region": "CA-ON", "city": "Ottawa",
     "languages": [{"code": "en", "level": "C2"}, {"code": "sv", "level": "native"}], "years_experience": 20, "modes": ["in_person", "virtual"],
     "availability": ["wed_evening", "sat_morning"], "capacity": 3},
    {"partner": "association", "pooled": False, "ready": True, "given_name": "Daniel", "family_name": "Okoye",
     "email": "daniel.okoye@accountants.example", "occupations": ["2411", "3313"], "sectors": ["24"], "region": "CA-ON",
     "languages": [{"code": "en", "level": "native"}], "years_experience": 7, "modes": ["virtual"], "availability": ["mon_evening"]},
    {"partner": "ngo", "pooled": True, "ready": True, "given_name": "Mariam", "family_name": "Yousef",
     "email": "mariam.yousef@harbour.example", "occupations": ["2221"], "sectors": ["22"], "region": "CA-ON", "city": "Toronto",
     "languages": [{"code": "ar", "level": "native"}, {"code": "en", "level": "C1"}], "years_experience": 12, "modes": ["hybrid"],
     "availability": ["sun_afternoon", "thu_evening"], "supports_communication_needs": True},
]
# The demo partners that have accepted the coalition charter (the hub has not).
CHARTER = ("ngo", "employer", "association")
CONSENT_TEXT = "2026-1"
DEMO_CHECKED_AT = "2026-09-01T09:00:00+00:00"
DEMO_CHECK_EXPIRES_AT = "2029-09-01T09:00:00+00:00"


def make_mentor_ready(call, mentor_id, recruiter):
    """Screened, oriented, active: what a recruiter does through the API, step by step."""
    call("mentor_bank", "record_screening", mentor_id, {"background_check": "clear", "checked_at": DEMO_CHECKED_AT,
                                                       "expires_at": DEMO_CHECK_EXPIRES_AT}, identity=recruiter)
    call("mentor_bank", "change_status", mentor_id, {"status": "screened"}, identity=recruiter)
    call("mentor_bank", "record_orientation", mentor_id, {"completed_at": DEMO_CHECKED_AT}, identity=recruiter)
    call("mentor_bank", "change_status", mentor_id, {"status": "trained"}, identity=recruiter)
    call("mentor_bank", "change_status", mentor_id, {"status": "active"}, identity=recruiter)


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
    for key in CHARTER:
        partner_admin = operator("seed-demo", roles=("partner_admin",), partner_id=partner_ids[key])
        call("registry", "accept_charter", partner_ids[key], {"version": CONSENT_TEXT}, identity=partner_admin)
    for mentor in MENTORS:
        recruiter = operator("seed-demo", roles=("recruiter",), partner_id=partner_ids[mentor["partner"]])
        profile = {k: v for k, v in mentor.items() if k not in ("partner", "pooled", "ready")}
        mentor_id = call("mentor_bank", "register_mentor", profile, identity=recruiter)["id"]
        if mentor["ready"]:
            make_mentor_ready(call, mentor_id, recruiter)
        if mentor["pooled"]:
            call("mentor_bank", "change_sharing", mentor_id, {"scope": "coalition", "consent_text_version": CONSENT_TEXT,
                                                              "consented_at": DEMO_CHECKED_AT}, identity=recruiter)
    for mentee in MENTEES:
        coordinator = operator("seed-demo", roles=("coordinator",), partner_id=partner_ids[mentee["partner"]])
        call("matching", "enrol_mentee", {k: v for k, v in mentee.items() if k != "partner"}, identity=coordinator)
    return credentials
