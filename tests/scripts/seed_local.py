# The seed article's first program: a big list in a local variable is freed on return.
def main():
    a = [i for i in range(200_000)]
    return len(a)


main()
