"""The differentiable primitives, each a ``Function`` (see ``chainrule.autograd``): the math of
an op and its derivative, on arrays. ``Tensor`` methods and ``nn.functional`` call them."""
