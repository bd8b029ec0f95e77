"""The claims desk: the web app where agents file claims with their documents and get
the triage decision at once, and reviewers work the queue.

A platform-side app: it calls the router's ``POST /v1/claims/triage`` (never inference),
keeps claims, document metadata, history and sessions in the ledger's kind of store
(SQLite WAL by default, PostgreSQL by URL; db.py) and document bytes in a
content-addressed folder (documents.py). Logic (claims.py, accounts.py, triage.py) is
apart from transport (web/).
"""

# the product whose router the desk calls (`quoteflow up` starts the desk beside it)
PRODUCT = "claims"
