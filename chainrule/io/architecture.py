"""The architecture spec: a model as JSON data, ``{"class": name, "config": {...}}`` per layer.

``module_spec`` describes a module by its class name and the constructor arguments it recorded
(``Module.get_config``), nesting submodules; ``module_from_spec`` rebuilds it. Only classes in
chainrule's registry (``chainrule.nn.module.REGISTRY``: every public ``Module`` subclass defined
in chainrule) or named in ``custom_objects`` can appear, so a spec read from a file never
imports or executes code. ``rebuild`` is how ``load_model`` builds an untrusted spec: before any
constructor runs it refuses unknown classes, dtypes other than chainrule's floats, and a tree
whose size, summed from each layer's declared ``state_size``, is not what the file stores.

Example:
    >>> import chainrule as cr
    >>> from chainrule.io import module_from_spec, module_spec
    >>> spec = module_spec(cr.nn.Sequential(cr.nn.Linear(3, 2), cr.nn.ReLU()))
    >>> spec["config"]["layers"][1]
    {'__module__': {'class': 'ReLU', 'config': {}}}
    >>> module_from_spec(spec)
    Sequential(
      (0): Linear(in_features=3, out_features=2, bias=True)
      (1): ReLU()
    )
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping

import numpy as np

from ..nn.module import REGISTRY, Module
from ..random import get_rng_state, set_rng_state
from .format import LoadError

__all__ = ["module_spec", "module_from_spec", "rebuild"]

# A layer class that does not declare its size (a custom class) may describe layers a little
# larger than the weights stored (arguments such as stride multiply into the estimate), but
# never orders of magnitude larger.
_SPEC_SLACK, _SPEC_FLOOR = 64, 2**24
# The dtypes a layer may be built in from a file (a config's "dtype" argument).
_FLOAT_DTYPES = ("float16", "float32", "float64")


def module_spec(module: Module, custom_objects: Mapping[str, type[Module]] | None = None) -> dict:
    """A JSON-able description ``{"class": name, "config": {...}}`` that rebuilds ``module``.

    ``custom_objects`` names user classes that may appear (as ``module_from_spec`` takes them).

    Raises:
        TypeError: for a module class outside chainrule's registry or a constructor argument
            that is not plain data; save such models with ``save_state`` instead.
    """
    name = type(module).__name__
    classes = {**REGISTRY, **(custom_objects or {})}
    if classes.get(name) is not type(module):
        raise TypeError(
            f"{name} is not a chainrule layer, so its architecture cannot be stored; save its "
            "weights with cr.save_state and rebuild it in code (or pass custom_objects)"
        )
    return {"class": name, "config": {k: _spec_value(v, name, k, custom_objects)
                                      for k, v in module.get_config().items()}}


def _spec_value(value, owner: str, argument: str, custom_objects):
    if isinstance(value, Module):
        return {"__module__": module_spec(value, custom_objects)}
    if isinstance(value, (list, tuple)):
        return [_spec_value(v, owner, argument, custom_objects) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.dtype) or (isinstance(value, type) and issubclass(value, np.generic)):
        return np.dtype(value).name
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(
        f"{owner}: constructor argument {argument!r} = {value!r} is not plain data, so the "
        "architecture cannot be stored; save the weights with cr.save_state instead"
    )


def module_from_spec(spec: dict,
                     custom_objects: Mapping[str, type[Module]] | None = None) -> Module:
    """Rebuild a module from ``module_spec`` output, using only registered classes."""
    classes = {**REGISTRY, **(custom_objects or {})}
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ValueError(f"not a module spec: {spec!r:.200}")
    cls = classes.get(spec["class"])
    if cls is None:
        raise ValueError(f"unknown layer class {spec['class']!r} in the architecture")
    config = spec.get("config", {})
    signature = inspect.signature(cls.__init__)
    args, kwargs = [], {}
    for name, value in config.items():
        value = _from_spec_value(value, custom_objects)
        parameter = signature.parameters.get(name)
        if parameter is not None and parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            args.extend(value)
        elif parameter is not None and parameter.kind is inspect.Parameter.VAR_KEYWORD:
            kwargs.update(value)
        else:
            kwargs[name] = value
    return cls(*args, **kwargs)


def _from_spec_value(value, custom_objects):
    if isinstance(value, dict) and "__module__" in value:
        return module_from_spec(value["__module__"], custom_objects)
    if isinstance(value, list):
        return [_from_spec_value(v, custom_objects) for v in value]
    return value


def rebuild(spec, *, source: str, stored_values: int,
            custom_objects: Mapping[str, type[Module]] | None = None) -> Module:
    """Build an untrusted architecture read from ``source`` whose file stores ``stored_values``
    weight values: checked first (``LoadError`` for unknown classes, dtypes chainrule does not
    compute in, or a size other than the weights stored), then built without moving the global
    random stream."""
    _check(source, spec, {**REGISTRY, **(custom_objects or {})}, stored_values)
    # Constructors draw initial weights that the file then replaces; those draws must not move
    # the global random stream, or loading a model would change the rest of a seeded run.
    rng_state = get_rng_state()
    try:
        return module_from_spec(spec, custom_objects)
    # Untrusted arguments can make a constructor fail in any way; all of them mean "bad file".
    except Exception as error:  # noqa: BLE001
        raise LoadError(f"{source}: cannot rebuild the model from its architecture: "
                        f"{type(error).__name__}: {error}") from None
    finally:
        set_rng_state(rng_state)


def _check(path: str, spec, classes: Mapping[str, type[Module]], stored_values: int) -> None:
    """Size the whole architecture from its configs before building anything.

    Each chainrule layer declares how many values its parameters and buffers hold
    (``Module.state_size``), so a tree of chainrule layers must describe exactly the values the
    file stores: a file that claims layers it does not hold the weights of is corrupted or
    hostile, and would otherwise make the constructors allocate memory the file only claims.
    """
    unknown = sorted({name for name in _classes_named(path, spec) if name not in classes})
    if unknown:
        raise LoadError(
            f"{path}: the architecture uses classes that are not chainrule layers: {unknown}; "
            "pass custom_objects={name: class} to load_model, or save such models with "
            "cr.save_state and load them with cr.load_state(path, into=model)"
        )
    try:
        described, exact = _state_size(path, spec, classes, stored_values)
    except RecursionError:
        raise LoadError(f"{path}: the architecture nests layers too deeply") from None
    if described > stored_values if not exact else described != stored_values:
        raise LoadError(
            f"{path}: the architecture describes layers of {described:,} values but the file "
            f"stores {stored_values:,}; it is corrupted or hostile"
        )


def _classes_named(path: str, spec) -> list[str]:
    """Every class name in the spec, checking each node is a layer description."""
    names, pending = [], [spec]
    while pending:
        node = pending.pop()
        if not isinstance(node, dict) or not isinstance(node.get("class"), str) \
                or not isinstance(node.get("config", {}), dict):
            raise LoadError(f"{path}: the architecture has {node!r:.200} where a layer "
                            "description ({'class': ..., 'config': {...}}) belongs")
        names.append(node["class"])
        pending.extend(_modules_in(node.get("config", {})))
    return names


def _modules_in(value) -> list:
    """The layer descriptions nested in one configuration value (lists included)."""
    found, pending = [], [value]
    while pending:
        value = pending.pop()
        if isinstance(value, dict) and "__module__" in value:
            found.append(value["__module__"])
        elif isinstance(value, dict):
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return found


def _state_size(path: str, node: dict, classes: Mapping[str, type[Module]], stored_values: int
                ) -> tuple[int, bool]:
    """``(values, exact)``: the values the layer described by ``node`` holds, exactly when
    every class in it is chainrule's own; else a lower bound, without the tensors of classes
    that do not declare their size (each is bounded by its integer arguments instead)."""
    cls, config = classes[node["class"]], node.get("config", {})
    where = f"{path}: layer {node['class']}"
    submodules, exact = {}, REGISTRY.get(node["class"]) is cls
    for name, value in config.items():
        sizes = [_state_size(path, child, classes, stored_values) for child in _modules_in(value)]
        submodules[name] = sum(size for size, _ in sizes)
        exact = exact and all(child_exact for _, child_exact in sizes)
        if name == "dtype" and value not in _FLOAT_DTYPES:
            raise LoadError(f"{where}: dtype {value!r:.50} is not one chainrule computes in "
                            f"({', '.join(_FLOAT_DTYPES)})")
    try:
        own = cls.state_size({**_defaults(cls), **config}, submodules)
    # The declarations read untrusted arguments; any failure means a bad argument.
    except Exception as error:  # noqa: BLE001
        raise LoadError(f"{where}: {type(error).__name__}: {error}") from None
    if own is None:  # a class that does not declare its size: bounded by its integer arguments
        _check_integer_product(where, config, stored_values)
        return sum(submodules.values()), False
    return own, exact


def _defaults(cls: type[Module]) -> dict:
    return {name: parameter.default
            for name, parameter in inspect.signature(cls.__init__).parameters.items()
            if parameter.default is not inspect.Parameter.empty}


def _check_integer_product(where: str, config: dict, stored_values: int) -> None:
    """An undeclared layer's parameter count is at most about the product of its integer
    arguments (``Linear``: in x out); one far above the values stored marks a bad file."""
    budget = max(_SPEC_SLACK * stored_values, _SPEC_FLOOR)
    product, values = 1, [config]
    while values:
        value = values.pop()
        if isinstance(value, dict) and "__module__" not in value:
            values.extend(value.values())
        elif isinstance(value, list):
            values.extend(value)
        elif type(value) is int and abs(value) > 1:
            product *= abs(value)
            if product > budget:
                raise LoadError(f"{where} has sizes {config!r:.200} far beyond the "
                                f"{stored_values:,} values stored in the file; the "
                                "architecture is corrupted or hostile")
