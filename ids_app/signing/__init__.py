"""The site's digital signature on the files it hands out: binders, certificates, reports.

A signed PDF lets a monitor or inspector who has only the file check that nobody changed
it after the site made it (21 CFR 11.10(c), protection of records; 11.70, signatures
linked to their records). The key and certificate stay outside the database, on the
workstation, owner-only (site.py); signing and checking are pyHanko's (pdf.py, checks.py).
"""
