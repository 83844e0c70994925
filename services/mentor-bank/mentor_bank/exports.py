"""The caller's own partner's mentors as CSV, with the columns an import takes (csvcolumns.py),
so an exported file, edited in a spreadsheet, imports again. Erased mentors are left out.
Every cell is neutralised against formula injection (csvcolumns.neutralised)."""
from mentor_bank import csvcolumns, mentors

_COLUMNS = {name: 1 for name in csvcolumns.NAMES}


def export_csv(database, caller):
    """CSV text: a byte order mark, the header, one row per mentor, oldest first."""
    found = database.mentors.find({"partner_id": caller["partner_id"], "status": {"$ne": mentors.ERASED}}, _COLUMNS)
    # Sorted here: ids sort by creation time, and FerretDB would sort by scanning anyway.
    rows = [[csvcolumns.cell_text(column, mentor.get(column.name)) for column in csvcolumns.COLUMNS]
            for mentor in sorted(found, key=lambda mentor: mentor["_id"])]
    return csvcolumns.write_table(rows)
