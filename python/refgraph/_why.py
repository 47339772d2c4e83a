"""`refgraph.why_alive(obj)`: what keeps an object alive, as the engine answers it."""


class WhyAlive(str):
    """The answer, printable as text (it is a str), with the structure beside it.

    kind: "chain" (held from a root: `chain` lists the steps, root first), "cyclic garbage"
    (only a reference cycle holds it), "held from outside the recorded heap" (C code or the
    interpreter holds references the snapshot cannot see), or "unreferenced".
    chain: [{"id", "type", "label", "edge"}] from the root to the object (empty unless "chain").
    raw: the engine's whole answer (docs/JSON.md, ChainAnswer).
    """

    def __new__(cls, answer):
        kind, chain, text = _explain(answer)
        self = str.__new__(cls, text)
        self.kind = kind
        self.chain = chain
        self.raw = answer
        return self

    def __repr__(self):
        return "<why_alive: %s>" % str(self)


def _explain(answer):
    chains = answer.get("chains") or []
    if chains:
        steps = [dict(id=int(s["object"]["id"], 16), type=s["object"]["type"],
                      label=s["object"].get("label"), edge=s.get("edge"))
                 for s in chains[0]["steps"]]
        return "chain", steps, chains[0]["text"]
    why = answer.get("unrooted") or {}
    reason = why.get("reason")
    obj = answer["object"]
    name = "%s %s" % (obj["type"], obj["id"])
    if reason in ("cycle", "held_by_unrooted"):
        members = why.get("members") or why.get("cycle_members") or []
        flagged = " (the collector found it unreachable)" if why.get("collector_flagged") else ""
        return "cyclic garbage", [], "%s: cyclic garbage: held only by a reference cycle of %d " \
            "object(s) nothing rooted reaches%s" % (name, len(members), flagged)
    if reason == "held_from_outside":
        return "held from outside the recorded heap", [], (
            "%s: held from outside the recorded heap: refcount %d, %d reference(s) recorded "
            "(C code or the interpreter holds the rest)"
            % (name, why["refcount"], why["recorded_referrers"]))
    if answer.get("beyond_depth"):
        return "chain", [], "%s: held from a root through a chain too long to search" % name
    return "unreferenced", [], "%s: nothing recorded refers to it" % name
