"""The playground: watch a real chainrule network learn 2-D data in the browser, and click any
weight, bias or neuron to see its chain rule for the current batch.

``chainrule playground`` serves one page on 127.0.0.1. The network trains here, in chainrule
(the page never recomputes the math: it draws the numbers the server sends); the chain-rule
panel shows ``∂J/∂w = ∂J/∂a[L] · … · ∂a/∂z · ∂z/∂w`` term by term from ``cr.explain``, the
central-difference check of that one gradient and the optimizer's update. Modules: ``datasets``
(the 2-D sets and the digits' plane), ``config`` (settings and limits), ``network`` (the model
for a config), ``session`` (training and frames), ``compare`` (deep sigmoid vs ReLU gradient
flow), ``store`` and ``server`` (HTTP, server-sent events), ``command`` (the CLI).

Example:
    >>> from chainrule.playground import PlaygroundServer
    >>> server = PlaygroundServer(port=0)  # port 0: any free port
    >>> _ = server.start()
    >>> server.stop()
"""

from .config import LIMITS, Config
from .server import PlaygroundServer
from .session import Session

__all__ = ["PlaygroundServer", "Session", "Config", "LIMITS"]
