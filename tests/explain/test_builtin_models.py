"""explain on every built-in model, built small: every op of the forward pass is in the trace,
every tensor has one name (and each name one value), and every symbol a formula uses is
defined."""

import re
from collections import Counter

import numpy as np
import pytest

import chainrule as cr
import chainrule.models
from chainrule.autograd import creation_mark, recorded_ops
from chainrule.explain.trace import model_output, record
from chainrule.nn.functional import cross_entropy

_IDS = np.array([[3, 5, 7, 0], [2, 9, 0, 0]])
_LABELS = np.array([0, 2])


def _images(shape):
    return np.random.default_rng(0).normal(size=(2, *shape)).astype(np.float32)


def _next_characters(logits, target):
    """The language model's loss: every position predicts the next character."""
    return cross_entropy(logits.reshape(-1, logits.shape[-1]), target.reshape(-1))


# name -> (build options, input batch, targets, loss); a new builder needs a case here.
CASES = {
    "mlp": (dict(input_shape=(1, 4, 4), layers=(5,)), _images((1, 4, 4)), _LABELS,
            "cross_entropy"),
    "cnn": (dict(input_shape=(1, 8, 8), channels=(2, 3), hidden=4), _images((1, 8, 8)),
            _LABELS, "cross_entropy"),
    "speech-cnn": (dict(input_shape=(1, 32, 63), channels=(2, 2), hidden=4),
                   _images((1, 32, 63)), _LABELS, "cross_entropy"),
    "bow": (dict(input_shape=(4,), vocab_size=12, embedding_dim=4, hidden_size=3), _IDS,
            _LABELS, "cross_entropy"),
    "lstm": (dict(input_shape=(4,), vocab_size=12, embedding_dim=4, hidden_size=3), _IDS,
             _LABELS, "cross_entropy"),
    "transformer": (dict(input_shape=(4,), vocab_size=12, d_model=4, nhead=2,
                         dim_feedforward=8), _IDS, _LABELS, "cross_entropy"),
    "char-lm": (dict(input_shape=(4,), embedding_dim=4, hidden_size=5), _IDS,
                np.array([[5, 7, 1, 2], [9, 1, 1, 3]]), _next_characters),
}
# Variants whose forward differs: the LSTM's last-state pooling reads its returned state.
VARIANTS = {
    "lstm, pooling last": ("lstm", dict(pooling="last")),
    "lstm, pooling mean, dropout": ("lstm", dict(pooling="mean", dropout=0.3)),
    "bow, no hidden layer": ("bow", dict(hidden_size=0)),
    "transformer, max pooling, 2 layers": ("transformer", dict(pooling="max", num_layers=2)),
}


def _build(case: str):
    name, extra = VARIANTS.get(case, (case, {}))
    options, x, y, loss = CASES[name]
    options = dict(options, **extra)
    classes = 12 if name == "char-lm" else 3
    cr.manual_seed(0)
    return chainrule.models.build(name, options.pop("input_shape"), classes, **options), x, y, \
        loss


def test_every_registered_builder_has_a_case():
    assert set(CASES) == set(chainrule.models._BUILDERS)


@pytest.mark.parametrize("case", [*CASES, *VARIANTS])
def test_the_trace_holds_every_op_of_the_forward_pass(case):
    model, x, y, loss = _build(case)
    state = cr.get_rng_state()
    mark = creation_mark()
    output = model_output(model(cr.tensor(x, requires_grad=x.dtype.kind == "f")))
    graph = Counter(op.name for _, op in recorded_ops(output, since=mark))
    cr.set_rng_state(state)  # the same dropout masks in the recorded pass
    trace = record(model, x, cr.tensor(y), cr.nn.get_loss(loss))
    traced = Counter(name for step in trace.steps for name in step.ops)
    assert sum(traced.values()) == sum(graph.values()) and traced == graph
    assert all(step.ops for step in trace.steps)  # no step that computed nothing


_SYMBOL = re.compile(r"(?<![∂/])\b(?:[A-Za-z_][A-Za-z_0-9]*\[\d+\](?:′[⁰¹²³⁴⁵⁶⁷⁸⁹]*|″|‴)?"
                     r"|c[₀₁₂₃₄₅₆₇₈₉]+)")


@pytest.mark.parametrize("case", [*CASES, *VARIANTS])
def test_one_name_per_tensor_one_value_per_name_and_no_undefined_symbol(case):
    model, x, y, loss = _build(case)
    e = cr.explain(model, x, y, loss, check=False)
    values: dict[str, list] = {}
    names: dict[int, set] = {}
    defined = {"a[0]"}
    for view in [*e.layers, e.loss_view]:
        for q in view.forward:
            for used in _SYMBOL.findall(q.formula):
                assert used in defined, f"{view.title}: {q.symbol} = {q.formula} uses {used}"
            defined.add(q.symbol)
            if view is not e.loss_view and q.value is not None and "parameter" not in q.formula:
                names.setdefault(id(q.value), set()).add(q.symbol)
        for q in view.forward + view.backward:
            if q.value is not None:
                values.setdefault(q.symbol, []).append(np.asarray(q.value))
    for symbol, seen in values.items():
        for value in seen[1:]:
            assert value.shape == seen[0].shape, symbol  # one gradient, one shape
            np.testing.assert_allclose(value, seen[0], rtol=1e-6, atol=1e-9, err_msg=symbol)
    assert all(len(symbols) == 1 for symbols in names.values()), names.values()
    assert e.verified


def test_an_lstm_read_by_its_last_state_is_one_step():
    model, x, y, loss = _build("lstm, pooling last")
    e = cr.explain(model, x, y, loss, check=False)
    lstm = e.layers[1]
    assert lstm.title == "layer 2 · LSTM (lstm)" and lstm.forward[-1].formula == "h_n of LSTM(z[1])"
    assert lstm.ops[0] == "Transpose" and lstm.ops.count("LSTMSequence") == 2


def test_the_lstm_classifier_shows_its_max_pooling_and_defines_its_constant():
    model, x, y, loss = _build("lstm")
    e = cr.explain(model, x, y, loss, check=False)
    kinds = [view.title.split(" · ")[1].split(" ")[0] for view in e.layers]
    assert kinds == ["Embedding", "LSTM", "Where", "Max", "Linear"]
    where, pool = e.layers[2], e.layers[3]
    constant = where.forward[0]
    assert constant.symbol == "c₁" and constant.formula.startswith("constant")
    assert where.forward[-1].formula == "z[2] where the mask holds, else c₁"
    assert pool.forward[-1].formula == f"Max({where.forward[-1].symbol}, axis=1)"
    assert pool.forward[-1].value.shape == (2, 6)
