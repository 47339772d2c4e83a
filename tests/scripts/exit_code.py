# Ends with the exit code given on the command line (or raises when asked).
import sys

kept = {"alive": [1, 2, 3]}
if sys.argv[1] == "raise":
    raise ValueError("boom")
print("out:" + sys.argv[1])
sys.exit(int(sys.argv[1]))
