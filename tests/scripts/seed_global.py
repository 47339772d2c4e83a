# The seed article's second program: the same list bound to a module global stays alive.
def main():
    global a
    a = [i for i in range(200_000)]


main()
