"""Design analytics over the books: calibration, simulation, forecasts, lift, unclaimed money.

The rules are in the domain (`calibration`, `forecast`, `lift`); these services gather what
they need from the books and run the same engine that computes the standings.
"""
