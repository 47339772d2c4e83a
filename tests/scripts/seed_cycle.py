# The seed article's third program: two lists that refer to each other form a cycle that
# reference counting never frees.
def main():
    a = [i for i in range(200_000)]
    b = [i for i in range(200_000)]
    a.append(b)
    b.append(a)


main()
