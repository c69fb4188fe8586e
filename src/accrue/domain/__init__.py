"""The pure core: money, partners, products, periods, the program language and the rules.

Nothing here touches a database, a file, the network or the clock; time is passed in.
"""
