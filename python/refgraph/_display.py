"""Graph answers that show themselves: inline SVG in Jupyter (drawn by the engine's own layered
renderer, no Graphviz), an HTML view with pan and zoom (a few lines of inline JS, no network),
`.dot` (objgraph's DOT text) and `.save(path)` (.dot, .svg, .png, .html)."""

import html
import itertools
import os

_counter = itertools.count()

# The whole graph fits the box at first (a tall one is scaled down, never cut off: the objects
# asked about are often at its bottom; an output hidden when drawn, which measures 0, is left
# at full size); wheel zooms around the pointer, dragging pans, double-click goes back to the
# fit. Inline, no network.
_PAN_ZOOM_JS = """
(function(box){var svg=box.querySelector('svg');if(!svg)return;
var g=svg;g.style.transformOrigin='0 0';
var b=svg.getBoundingClientRect(),r=box.getBoundingClientRect(),fit=1;
if(b.width>0&&b.height>0&&r.width>0){
fit=Math.min(1,r.width/b.width,window.innerHeight*0.8/b.height);
box.style.height=Math.ceil(b.height*fit)+'px';}
var s=fit,x=0,y=0,drag=null;
function put(){g.style.transform='translate('+x+'px,'+y+'px) scale('+s+')';}
put();
box.addEventListener('wheel',function(e){e.preventDefault();var r=box.getBoundingClientRect();
var px=e.clientX-r.left,py=e.clientY-r.top,f=e.deltaY<0?1.2:1/1.2;
x=px-(px-x)*f;y=py-(py-y)*f;s*=f;put();},{passive:false});
box.addEventListener('mousedown',function(e){drag=[e.clientX-x,e.clientY-y];});
window.addEventListener('mouseup',function(){drag=null;});
box.addEventListener('mousemove',function(e){if(drag){x=e.clientX-drag[0];y=e.clientY-drag[1];put();}});
box.addEventListener('dblclick',function(){s=fit;x=0;y=0;put();});
})(document.getElementById('%s'));
"""


def _inline(svg):
    """The SVG without its XML declaration, to sit inside an HTML page."""
    if svg.startswith("<?xml"):
        svg = svg[svg.index("?>") + 2:].lstrip()
    return svg


class Graph:
    """A drawn subgraph: `view` is the engine's SubgraphView (docs/JSON.md), `dot` objgraph's
    DOT text for it, `nodes` how many objects it draws."""

    def __init__(self, view, dot, renderer, nodes):
        self.view = view
        self.dot = dot
        self.nodes = nodes
        self._renderer = renderer
        self._svg = None

    def svg(self):
        """The picture as SVG text (the builtin renderer; no Graphviz)."""
        if self._svg is None:
            self._svg = self._renderer().ask("render", view=self.view, format="svg")["svg"]
        return self._svg

    def _repr_svg_(self):
        return self.svg()

    def _repr_html_(self):
        box = "refgraph-%d" % next(_counter)
        return ('<div id="%s" style="overflow:hidden;border:1px solid #ddd;cursor:grab;'
                'max-height:80vh" title="wheel: zoom, drag: pan, double-click: reset">%s</div>'
                '<script>%s</script>' % (box, _inline(self.svg()), _PAN_ZOOM_JS % box))

    def save(self, path):
        """Write the graph: `.dot` as objgraph's DOT, `.svg`/`.png` drawn by the builtin
        renderer, `.html` with pan and zoom."""
        path = str(path)
        lower = path.lower()
        if lower.endswith(".dot"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(self.dot)
        elif lower.endswith(".html"):
            with open(path, "w", encoding="utf-8") as f:
                f.write("<!doctype html><meta charset=utf-8><title>%s</title>%s"
                        % (html.escape(path), self._repr_html_()))
        elif lower.endswith(".svg") or lower.endswith(".png"):
            # absolute: the engine process keeps the directory it started in
            self._renderer().ask("render", view=self.view, format=lower[-3:],
                                 path=os.path.abspath(path))
        else:
            raise ValueError("%s: refgraph writes .dot, .svg, .png and .html" % path)
        return path

    def __repr__(self):
        return "<refgraph Graph: %d nodes>" % self.nodes
