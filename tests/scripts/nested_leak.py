# One big leak made of many nested parts, and a smaller, separate one: the largest-objects
# lists must not spend every row on the big leak's parts.
leak = [[ValueError("e%d-%d" % (i, j) + "x" * 50_000) for j in range(2)] for i in range(10)]
other = {"blob": bytearray(60_000)}
