"""``Module`` and ``Parameter``: how layers hold weights, nest, switch modes and serialise.

Assigning a ``Parameter`` or a ``Module`` to an attribute registers it, so ``parameters()``,
``state_dict()`` and ``train()/eval()`` walk the whole tree with dotted names
(``"layers.0.weight"``). Every module records the arguments it was built with
(``get_config``), which lets ``cr.save`` store an architecture that ``cr.load_model`` rebuilds
from a registry of chainrule's own classes — never by importing or executing code from a file.
"""

from __future__ import annotations

import functools
import inspect
import itertools
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

from .. import backend
from ..autograd import no_grad
from ..names import lookup
from ..tensor import Tensor
from .functional._checks import ArgumentError

__all__ = ["Module", "Parameter", "module_from_name", "REGISTRY", "HookHandle"]

_hook_ids = itertools.count()
REGISTRY: dict[str, type[Module]] = {}  # chainrule's own module classes, by name, for load_model


class Parameter(Tensor):
    """A tensor a ``Module`` trains: it requires a gradient and is found by ``parameters()``.

    The data is copied, so optimizers updating it in place never touch the caller's array.
    """

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True,
                 dtype: npt.DTypeLike | None = None) -> None:
        data = data.data if isinstance(data, Tensor) else data
        super().__init__(backend.array_module(data).array(data, dtype=dtype),
                         requires_grad=requires_grad)
        if dtype is None and self.data.dtype == np.float64 and not isinstance(data, np.ndarray):
            self.data = self.data.astype(np.float32)

    def __repr__(self) -> str:
        return "Parameter(" + super().__repr__()[len("tensor("):]


class HookHandle:
    """Returned by ``register_forward_hook``; ``remove()`` unregisters the hook."""

    def __init__(self, hooks: dict[int, Callable[..., Any]], key: int) -> None:
        self._hooks, self._key = hooks, key

    def remove(self) -> None:
        self._hooks.pop(self._key, None)

    def __enter__(self) -> HookHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


def _record_config(init: Callable[..., None]) -> Callable[..., None]:
    """Wrap ``__init__`` so the outermost call records the constructor arguments."""

    @functools.wraps(init)
    def wrapper(self: Module, *args: Any, **kwargs: Any) -> None:
        if "_config" not in self.__dict__:
            bound = inspect.signature(init).bind(self, *args, **kwargs)
            bound.apply_defaults()
            arguments = dict(bound.arguments)
            arguments.pop("self")
            object.__setattr__(self, "_config", arguments)
        init(self, *args, **kwargs)

    return wrapper


class Module:
    """Base class of every layer and model.

    Subclasses set parameters and submodules as attributes in ``__init__`` (after calling
    ``super().__init__()``) and define ``forward``. Calling the module runs the forward hooks
    around ``forward``.

    Example:
        >>> import chainrule as cr
        >>> class TwoLayer(cr.nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.hidden = cr.nn.Linear(2, 4)
        ...         self.out = cr.nn.Linear(4, 1)
        ...     def forward(self, x):
        ...         return self.out(self.hidden(x).tanh())
        >>> [name for name, _ in TwoLayer().named_parameters()]
        ['hidden.weight', 'hidden.bias', 'out.weight', 'out.bias']
    """

    _config_exclude: tuple[str, ...] = ("generator",)  # constructor args not stored in specs
    # True for classes whose constructor allocates no parameter or buffer of its own (only the
    # modules passed to it hold state): their ``state_size`` is their submodules' total.
    stateless: ClassVar[bool] = False
    # Set in __init__ with object.__setattr__; declared here for the type checker (as PyTorch).
    training: bool
    _modules: OrderedDict[str, Module]
    _parameters: OrderedDict[str, Parameter]
    _buffers: OrderedDict[str, bool]
    _forward_hooks: OrderedDict[int, Callable[..., Any]]
    _forward_pre_hooks: OrderedDict[int, Callable[..., Any]]
    # Set by ``fit`` while it trains (not before): a callback sets it True to stop (as Keras).
    stop_training: bool

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "__init__" in cls.__dict__:
            cls.__init__ = _record_config(cls.__dict__["__init__"])  # type: ignore[method-assign]
        if cls.__module__.startswith("chainrule.") and not cls.__name__.startswith("_"):
            REGISTRY[cls.__name__] = cls

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name: str, value: Any) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() runs: call super().__init__() "
                f"first in {type(self).__name__}.__init__"
            )
        if name in self._buffers and (value is None or _is_array(value)):
            object.__setattr__(self, name, value)  # replacing a buffer keeps it a buffer
            return
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        if isinstance(value, Parameter):
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._modules[name] = value
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        for registry in (self._parameters, self._modules, self._buffers):
            registry.pop(name, None)
        object.__delattr__(self, name)

    def register_buffer(self, name: str, array: np.ndarray | None) -> None:
        """Register state that is saved in ``state_dict`` but not trained (running statistics)."""
        object.__setattr__(self, name, array)
        self._buffers[name] = True

    def register_parameter(self, name: str, parameter: Parameter | None) -> None:
        """Register a parameter, or ``None`` to mark an absent one (e.g. ``bias=False``)."""
        if parameter is None:
            object.__setattr__(self, name, None)
            self._parameters.pop(name, None)
        else:
            setattr(self, name, parameter)

    def add_module(self, name: str, module: Module) -> None:
        setattr(self, name, module)

    # ------------------------------------------------------------------ traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        yield from self._modules.items()

    def children(self) -> Iterator[Module]:
        for _, module in self.named_children():
            yield module

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every submodule, depth first, each once."""
        seen: set[int] = set()
        stack = [(prefix, self)]
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{child}" if name else child, m)
                        for child, m in module._modules.items()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self, prefix: str = "", recurse: bool = True
                         ) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs; a parameter shared by two layers appears once."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else [(prefix, self)]
        for module_name, module in modules:
            for name, parameter in module._parameters.items():
                if id(parameter) not in seen:
                    seen.add(id(parameter))
                    yield (f"{module_name}.{name}" if module_name else name), parameter

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, parameter in self.named_parameters(recurse=recurse):
            yield parameter

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, np.ndarray]]:
        for module_name, module in self.named_modules(prefix):
            for name in module._buffers:
                value = module.__dict__[name]
                if value is not None:
                    yield (f"{module_name}.{name}" if module_name else name), value

    def num_parameters(self, trainable_only: bool = False) -> int:
        return sum(p.size for p in self.parameters() if p.requires_grad or not trainable_only)

    # ------------------------------------------------------------------ modes and grads
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout active, batch statistics); returns self."""
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode (dropout off, running statistics); returns self."""
        return self.train(False)

    def zero_grad(self) -> None:
        """Reset every parameter's ``.grad`` to None."""
        for parameter in self.parameters():
            parameter.grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for parameter in self.parameters():
            parameter.requires_grad_(requires_grad)
        return self

    def to(self, device: str | backend.Device) -> Module:
        """Move every parameter (with its gradient) and buffer to ``device`` (``"cpu"``,
        ``"cuda"``, ``"cuda:1"``) in place; returns self.

        The ``Parameter`` objects stay the same, so an optimizer made before holds them still:
        its state (momenta) follows to their device on its next step. Making the optimizer
        after ``to`` avoids that one copy.

        Example:
            >>> import chainrule as cr
            >>> model = cr.nn.Linear(3, 2).to("cpu")
            >>> model.weight.device
            device(type='cpu')
        """
        device = backend.as_device(device)
        for parameter in self.parameters():
            if parameter.device != device:
                parameter.data = backend.to_device(parameter.data, device)
                if parameter.grad is not None:
                    parameter.grad = backend.to_device(parameter.grad, device)
        for module in self.modules():
            for name in module._buffers:
                value = module.__dict__[name]
                if value is not None:
                    object.__setattr__(module, name, backend.to_device(value, device))
        return self

    def astype(self, dtype: npt.DTypeLike) -> Module:
        """Convert every parameter and floating buffer to ``dtype`` in place; returns self."""
        for parameter in self.parameters():
            parameter.data = parameter.data.astype(dtype)
            parameter.grad = None
        for module in self.modules():
            for name in module._buffers:
                value = module.__dict__[name]
                if _is_array(value) and value.dtype.kind == "f":
                    object.__setattr__(module, name, value.astype(dtype))
        return self

    # ------------------------------------------------------------------ state
    def state_dict(self) -> OrderedDict[str, np.ndarray]:
        """Parameters and buffers by dotted name (the arrays themselves, not copies)."""
        state: OrderedDict[str, np.ndarray] = OrderedDict()
        for name, parameter in self.named_parameters():
            state[name] = parameter.data
        for name, buffer in self.named_buffers():
            state[name] = buffer
        return state

    def load_state_dict(self, state: Mapping[str, Any], strict: bool = True
                        ) -> tuple[list[str], list[str]]:
        """Copy arrays into this module's parameters and buffers, checking names and shapes.

        Returns:
            (missing keys, unexpected keys); with ``strict`` either raises ``KeyError``.
        """
        own = self.state_dict()
        missing = [k for k in own if k not in state]
        unexpected = [k for k in state if k not in own]
        if strict and (missing or unexpected):
            raise KeyError(
                f"load_state_dict for {type(self).__name__}: missing keys {missing}, "
                f"unexpected keys {unexpected}"
            )
        updates = []
        for name, target in own.items():
            if name not in state:
                continue
            value = state[name].data if isinstance(state[name], Tensor) else state[name]
            value = backend.as_array(value, backend.device_of(target))
            if value.shape != target.shape:
                raise ValueError(
                    f"load_state_dict: {name!r} has shape {value.shape} in the state but "
                    f"{target.shape} in the model"
                )
            updates.append((target, value))
        for target, value in updates:  # copied only once every shape has been checked
            backend.array_module(target).copyto(target, value, casting="same_kind")
        return missing, unexpected

    @classmethod
    def state_size(cls, arguments: dict[str, Any], submodules: dict[str, int]) -> int | None:
        """How many values ``cls(**arguments)`` would hold in its parameters and buffers,
        computed from the arguments alone (no constructor runs), so ``load_model`` can refuse
        an architecture that claims more memory than its file stores before allocating any.

        Args:
            arguments: the constructor arguments, defaults filled in; untrusted (from a file).
            submodules: argument name -> total state size of the modules passed in it.

        Returns:
            This class's own values plus those of the modules it holds; ``None`` when the class
            does not declare its size (then ``load_model`` bounds it by its integer arguments).

        Raises:
            ValueError: an argument that sizes a tensor is not a non-negative integer.

        Classes that hold no tensor of their own set ``stateless = True`` instead of overriding.
        """
        return sum(submodules.values()) if cls.stateless else None

    def get_config(self) -> dict[str, Any]:
        """The constructor arguments this module was built with (JSON-able values)."""
        config = dict(self.__dict__.get("_config", {}))
        for name in self._config_exclude:
            config.pop(name, None)
        return config

    # ------------------------------------------------------------------ calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if not (self._forward_pre_hooks or self._forward_hooks):
                return self.forward(*args, **kwargs)
            return self._call_with_hooks(args, kwargs)
        except ArgumentError as error:
            # A functional check failed: name this layer, the innermost module that called it
            # (on one line: a container's repr lists its children).
            if error.named_by_layer:
                raise
            raise error.for_layer(f"{type(self).__name__}({self.extra_repr()})") from None

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            replaced = hook(self, args)
            if replaced is not None:
                args = replaced if isinstance(replaced, tuple) else (replaced,)
        output = self.forward(*args, **kwargs)
        for hook in list(self._forward_hooks.values()):
            replaced = hook(self, args, output)
            if replaced is not None:
                output = replaced
        return output

    def register_forward_hook(self, hook: Callable[..., Any]) -> HookHandle:
        """Call ``hook(module, inputs, output)`` after every forward; it may return a new output."""
        key = next(_hook_ids)
        self._forward_hooks[key] = hook
        return HookHandle(self._forward_hooks, key)

    def register_forward_pre_hook(self, hook: Callable[..., Any]) -> HookHandle:
        """Call ``hook(module, inputs)`` before every forward; it may return new inputs."""
        key = next(_hook_ids)
        self._forward_pre_hooks[key] = hook
        return HookHandle(self._forward_pre_hooks, key)

    # ------------------------------------------------------------------ display
    def extra_repr(self) -> str:
        """The text inside this module's parentheses in ``repr`` (its settings)."""
        return ""

    def __repr__(self) -> str:
        children = [f"({name}): {module!r}".replace("\n", "\n  ")
                    for name, module in self._modules.items()]
        if not children:
            return f"{type(self).__name__}({self.extra_repr()})"
        lines = ([self.extra_repr()] if self.extra_repr() else []) + children
        return f"{type(self).__name__}(\n  " + "\n  ".join(lines) + "\n)"

    def summary(self, input_shape: tuple[int, ...], dtype: npt.DTypeLike = np.float32,
                print_fn: Callable[[str], object] | None = print) -> str:
        """A Keras-like table of layers, output shapes and parameter counts.

        Runs one forward pass on zeros of ``(1, *input_shape)`` in eval mode, without a graph.
        """
        rows: list[tuple[str, str, int]] = []
        handles = []
        for name, module in self.named_modules():
            if module is self or module._modules:
                continue  # leaves only: containers would repeat their children's rows

            def record(mod: Module, inputs: Any, output: Any, name: str = name) -> None:
                shape = output.shape if isinstance(output, Tensor) else type(output).__name__
                count = sum(p.size for p in mod.parameters())
                rows.append((f"{name} ({type(mod).__name__})", str(shape), count))

            handles.append(module.register_forward_hook(record))
        was_training = self.training
        self.eval()
        try:
            with no_grad():
                xp = next((backend.array_module(p.data) for p in self.parameters()), np)
                out = self(Tensor(xp.zeros((1, *input_shape), dtype=dtype)))
        finally:
            self.train(was_training)
            for handle in handles:
                handle.remove()
        if not rows:
            rows.append((type(self).__name__, str(out.shape), self.num_parameters()))
        width = max(30, *(len(r[0]) + 2 for r in rows))
        rule = "-" * (width + 36)
        lines = [f"{type(self).__name__}", rule,
                 f"{'Layer (type)':<{width}}{'Output Shape':<24}{'Param #':>12}", rule]
        lines += [f"{layer:<{width}}{shape:<24}{count:>12,}" for layer, shape, count in rows]
        total = self.num_parameters()
        trainable = self.num_parameters(trainable_only=True)
        lines += [rule, f"Total params: {total:,}", f"Trainable params: {trainable:,}",
                  f"Non-trainable params: {total - trainable:,}", rule]
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text


def _is_array(value: Any) -> bool:
    """A NumPy or device array (a buffer), not a tensor."""
    return hasattr(value, "dtype") and hasattr(value, "shape") and not isinstance(value, Tensor)


def module_from_name(kind: str, name: Any, table: dict[str, type[Module]], kwargs: dict[str, Any],
                     also: str = "; or a Module or Module class") -> Module:
    """The module that ``name`` selects: a module as it is, a module class built with
    ``kwargs``, or a name built with ``kwargs``: a key of ``table`` or the name of one of its
    classes, in any spelling (``chainrule.names``: "leaky_relu", "LeakyReLU", "leaky-relu").

    Raises:
        ValueError: for an unknown name, listing the keys of ``table`` and then ``also``.
    """
    if isinstance(name, Module):
        return name
    if isinstance(name, type) and issubclass(name, Module):
        return name(**kwargs)
    by_class = {cls.__name__: cls for cls in table.values()}
    return lookup(kind, name, {**table, **by_class}, listed=table, also=also)(**kwargs)
