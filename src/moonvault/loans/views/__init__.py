"""The loan pages: curators' compliance, loans, incidents, stock checks and exhibitions; the
borrower's loans; the public list of results."""
