"""Neural-network building blocks: modules, layers, losses, initialisation."""

from . import functional
from .module import Module, Parameter

__all__ = ["functional", "Module", "Parameter"]
