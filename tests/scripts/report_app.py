# A heap full of hostile text for the HTML report: markup in dict keys and values, a class
# name, a module name and argv, plus a list cycle so the report has a cycle to draw. The
# payloads set the page title to PWNED if the report ever lets them run.
import sys
import types

SCRIPT = "<script>document.title='PWNED'</script>"
IMG = "<img src=x onerror=\"document.title='PWNED'\">"

# Module names become chain text ("module <script>…") and root badges.
evil_module = types.ModuleType(SCRIPT)
sys.modules[SCRIPT] = evil_module
evil_module.payloads = {
    SCRIPT: IMG,
    IMG: SCRIPT,
    '"quotes" & \'apostrophes\'': "&amp; &lt;b&gt; not an entity",
    "emoji \U0001F40D\U0001F525": "caf\u00e9 \u2014 \u00fcn\u00efc\u00f8de",
    "</details></section><h1>broken layout</h1>": "]]> --> <!-- </textarea></style>",
}

# The largest object, so the module's name shows in its holder chain.
evil_module.blob = bytearray(300_000)

# A class whose name is markup: it shows in the type table and the cycle's types.
Evil = type(IMG, (), {})


def make_cycle():
    # Two lists and the payload dict refer to each other: the dict's markup keys and values
    # show in the cycle's details.
    a = [Evil(), evil_module.payloads, SCRIPT]
    b = [Evil(), a, IMG]
    a.append(b)
    evil_module.payloads["ring"] = a
    return a


ring = make_cycle()
big = {("k%d" % i): bytearray(64) for i in range(200)}
print("report app ready", len(sys.argv))
