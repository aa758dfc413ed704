"""The inventory ledger: shipments, lots, kits, locations, transactions, balances."""
