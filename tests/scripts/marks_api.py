# The dump() API with marks and values=False; the secret must stay in the process.
import sys

sys.path.insert(0, sys.argv[1])
import refgraph_dump  # noqa: E402

SECRET = "hunter2-" + "s3cr3t-" + "token"
config = {"password": SECRET, "user": "alice"}
cache = [config, b"bytes-" + b"s3cr3t"]
refgraph_dump.dump(sys.argv[2], marks={"cache": cache, "config": config}, values=sys.argv[3] == "values")
