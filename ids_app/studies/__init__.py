"""Studies: protocol, products, kits, arms, blinding, subjects, staff, dispensing rules."""
