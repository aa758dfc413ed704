"""Reports: the audit binder, sponsor workbook and CDISC DA file, destruction certificates,
monitor-visit reports and dispensing labels. No Qt here.

Three layers, one way: :mod:`gather` reads the records into plain dataclasses
(:mod:`records`), the renderers (:mod:`binder`, :mod:`workbook`, :mod:`cdisc`, …) turn
those into files, and :mod:`exports` runs a whole export for a caller (CLI or a GUI worker
thread): read, render beside the target, record the export in the audit trail, publish.
"""
