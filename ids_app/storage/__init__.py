"""Storage conditions: temperature logs, excursions, mean kinetic temperature, chart."""
