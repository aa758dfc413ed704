"""The monitor's side of the record: visits, records reviewed, notes, queries."""
