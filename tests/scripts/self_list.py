# A list that contains itself, held by a global.
loop = [1, 2]
loop.append(loop)
