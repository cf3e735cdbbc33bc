"""Neural-network building blocks: modules, layers, losses, initialisation."""

from . import functional, init, utils
from .activation import (
    CELU,
    ELU,
    GELU,
    SELU,
    Hardswish,
    Hardtanh,
    LeakyReLU,
    LogSoftmax,
    Mish,
    ReLU,
    ReLU6,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Softsign,
    Tanh,
    get_activation,
)
from .attention import MultiheadAttention, causal_mask, scaled_dot_product_attention
from .container import ModuleList, Sequential
from .conv import Conv1d, Conv2d, Conv3d, ConvTranspose2d
from .dropout import Dropout
from .dropout2d import Dropout2d
from .embedding import Embedding
from .linear import Flatten, Identity, Linear
from .loss import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    HuberLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    get_loss,
)
from .module import Module, Parameter
from .normalization import BatchNorm1d, BatchNorm2d, GroupNorm, InstanceNorm2d, LayerNorm
from .pooling import AdaptiveAvgPool2d, AvgPool2d, MaxPool2d
from .recurrent import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from .transformer import PositionalEncoding, TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "Conv1d", "Conv2d", "Conv3d", "ConvTranspose2d", "MaxPool2d", "AvgPool2d",
    "AdaptiveAvgPool2d", "BatchNorm1d", "BatchNorm2d",
    "LayerNorm", "GroupNorm", "InstanceNorm2d", "Dropout2d",
    "functional", "Module", "Parameter", "init",
    "Linear", "Identity", "Flatten", "Sequential", "ModuleList", "Dropout",
    "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "GELU", "Softplus", "Softmax", "LogSoftmax",
    "Hardtanh", "ReLU6", "Hardswish", "SiLU", "Mish", "Softsign", "CELU", "SELU",
    "get_activation",
    "MSELoss", "L1Loss", "HuberLoss", "CrossEntropyLoss", "NLLLoss", "BCELoss",
    "BCEWithLogitsLoss", "get_loss", "utils",
    "Embedding", "RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell", "MultiheadAttention",
    "scaled_dot_product_attention", "causal_mask", "PositionalEncoding",
    "TransformerEncoderLayer", "TransformerEncoder",
]
