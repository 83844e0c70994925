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


# Demo people, invented; the consent they gave to the processing of their data.
MENTEE_CONSENT = {"version": "2026-1", "given_at": "2026-08-15T09:00:00+00:00"}
def _mentee(given, family, country, target, languages, modes, slots, goals, **extra):
    """A Harbour mentee, in CA-ON, who applied in August; `extra` overrides any field."""
    email = f"{given}.{family}@mail.example".lower().replace(" ", "")
    return {"partner": "ngo", "given_name": given, "family_name": family, "email": email, "country_trained": country,
            "occupation": target, "target_occupation": target, "years_experience": 8, "credential_recognition": "in_progress",
            "region": "CA-ON", "languages": languages, "modes": modes, "availability": slots, "goals": goals,
            "consent": MENTEE_CONSENT, "applied_at": "2026-08-20T10:00:00+00:00", **extra}


def _speaks(home, english):
    return [{"code": home, "level": "native"}, {"code": "en", "level": english}]


# Harbour's autumn cohort, waiting in its programme: enough for one group per pooled mentor
# (Elena and Kwame of Northwind, Sofia of the accountants, Mariam of Harbour) and two people
# the run cannot place, so its reasons show.
MENTEES = [
    # Civil and mechanical engineers (a regulated field: the mentor's ISCO minor group must be 214).
    _mentee("Yusuf", "Haddad", "SY", "2142", _speaks("ar", "B2"), ["hybrid", "in_person"], ["tue_evening", "sat_morning"],
            ["licensure", "job_search"], years_experience=11),
    _mentee("Farid", "Rahimi", "IR", "2142", _speaks("fa", "B1"), ["hybrid"], ["tue_evening", "thu_evening"],
            ["licensure", "interview_preparation"]),
    _mentee("Wei", "Chen", "CN", "2142", _speaks("zh", "B2"), ["in_person", "hybrid"], ["tue_evening"], ["networking"]),
    _mentee("Amina", "Diallo", "SN", "2142", _speaks("fr", "B1"), ["hybrid"], ["thu_evening", "tue_evening"],
            ["workplace_culture"], credential_recognition="not_started"),
    _mentee("Olena", "Kovalenko", "UA", "2144", _speaks("uk", "B1"), ["virtual"], ["wed_evening"], ["job_search", "interview_preparation"]),
    _mentee("Dmytro", "Shevchenko", "UA", "2144", _speaks("uk", "B2"), ["virtual", "hybrid"], ["wed_evening", "mon_evening"],
            ["networking"]),
    _mentee("Hoang", "Nguyen", "VN", "2149", _speaks("vi", "B1"), ["virtual"], ["mon_evening", "wed_evening"], ["upskilling"],
            needs_communication_support=True),
    # Accountants (not regulated here: closeness in ISCO scores, no hard rule).
    _mentee("Ana", "Restrepo", "CO", "2411", _speaks("es", "B2"), ["virtual"], ["sat_morning"], ["licensure", "networking"]),
    _mentee("Mehmet", "Yilmaz", "TR", "2411", _speaks("tr", "B2"), ["in_person", "virtual"], ["sat_morning", "wed_evening"],
            ["job_search"]),
    _mentee("Grace", "Mwangi", "KE", "2411", _speaks("sw", "C1"), ["virtual"], ["sat_morning"], ["upskilling", "networking"],
            occupation="3313"),
    # Nurses (health: the mentor's minor group must be 222), in Arabic with Mariam.
    _mentee("Rania", "Saleh", "SY", "2221", _speaks("ar", "A2"), ["hybrid"], ["sun_afternoon"], ["licensure"],
            needs_communication_support=True),
    _mentee("Layla", "Hassan", "IQ", "2221", _speaks("ar", "B1"), ["hybrid", "in_person"], ["sun_afternoon"], ["licensure", "job_search"]),
    _mentee("Omar", "Aziz", "SD", "2221", _speaks("ar", "B2"), ["hybrid"], ["sun_afternoon", "thu_evening"], ["workplace_culture"]),
    # No pooled mentor is a lawyer (legal needs ISCO 261), and nobody else is free on Friday afternoons.
    _mentee("Tesfaye", "Bekele", "ER", "2611", _speaks("ti", "B2"), ["virtual"], ["tue_evening"], ["licensure"]),
    _mentee("Marta", "Gomez", "AR", "2512", _speaks("es", "B1"), ["virtual"], ["fri_afternoon"], ["job_search"]),
]
# The programme they wait in; `make up` prints how to run a match on it.
PROGRAM = {"name": "Harbour autumn cohort: engineers, accountants and nurses", "occupations": [], "sectors": ["21", "22", "24"],
           "start_date": "2027-01-11"}


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
    coordinator = operator("seed-demo", roles=("coordinator",), partner_id=partner_ids["ngo"])
    program = call("registry", "create_program", PROGRAM, identity=coordinator)
    for status in ("recruiting", "matching"):
        program = call("registry", "transition_program", program["id"], {"status": status}, identity=coordinator)
    for mentee in MENTEES:
        created = call("matching", "create_mentee", {k: v for k, v in mentee.items() if k != "partner"}, identity=coordinator)
        call("matching", "admit_mentee", created["id"], {"admitted_at": "2026-09-01T10:00:00+00:00"}, identity=coordinator)
        call("matching", "enrol_mentee", created["id"], program["id"], identity=coordinator)
    return credentials
