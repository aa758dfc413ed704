"""Reports: the audit binder (PDF), sponsor spreadsheets (xlsx), labels. No Qt here."""
