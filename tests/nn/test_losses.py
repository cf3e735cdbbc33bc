"""Loss modules and functions: hand-computed values, PyTorch for every reduction and option,
gradients by central differences (float64), stability at logits of ±1e4, float32, errors."""

import math

import numpy as np
import pytest
from optional_packages import importorskip

import chainrule as cr
import chainrule.nn.functional as F
from chainrule.io import module_from_spec, module_spec

REDUCTIONS = ("mean", "sum", "none")
RNG = np.random.default_rng(0)
PRED = RNG.standard_normal((4, 3)) * 2
TARGET = RNG.standard_normal((4, 3))
LOGITS = RNG.standard_normal((5, 4)) * 3
LABELS = np.array([0, 3, 1, 1, 2])
LOGITS_3D = RNG.standard_normal((2, 4, 3))
LABELS_3D = np.array([[0, 3, 1], [2, 2, -100]])
SOFT = RNG.dirichlet(np.ones(4), size=5)
WEIGHT = np.array([0.5, 2.0, 1.0, 3.0])
PROBS = RNG.uniform(0.05, 0.95, (4, 3))
BINARY = (RNG.uniform(size=(4, 3)) > 0.5).astype(np.float64)


# ---------------------------------------------------------------- hand-computed values
def _value(loss, pred, target):
    return loss(cr.tensor(np.asarray(pred, dtype=np.float64)), target).data


def test_regression_losses_by_hand():
    pred, target = [1.0, 2.0, 4.0], np.array([0.0, 2.0, 1.0])  # differences 1, 0, 3
    assert _value(cr.nn.MSELoss(), pred, target) == pytest.approx(10 / 3)
    assert _value(cr.nn.MSELoss("sum"), pred, target) == pytest.approx(10)
    np.testing.assert_allclose(_value(cr.nn.MSELoss("none"), pred, target), [1, 0, 9])
    assert _value(cr.nn.MSELoss(half=True), pred, target) == pytest.approx(5 / 3)  # 1/(2m) Σ
    assert _value(cr.nn.L1Loss(), pred, target) == pytest.approx(4 / 3)
    assert _value(cr.nn.L1Loss("sum"), pred, target) == pytest.approx(4)
    np.testing.assert_allclose(_value(cr.nn.HuberLoss("none"), pred, target), [0.5, 0, 2.5])
    np.testing.assert_allclose(_value(cr.nn.HuberLoss("none", delta=2.0), pred, target),
                               [0.5, 0, 4.0])
    assert _value(cr.nn.HuberLoss(), pred, target) == pytest.approx(1.0)


def test_textbook_mse_gradient_is_h_minus_y_over_m():
    h = cr.tensor([1.0, 2.0, 4.0], requires_grad=True)
    cr.nn.MSELoss(half=True)(h, [0.0, 2.0, 1.0]).backward()
    np.testing.assert_allclose(h.grad, np.array([1.0, 0.0, 3.0]) / 3, rtol=1e-6)
    h.grad = None
    cr.nn.MSELoss()(h, [0.0, 2.0, 1.0]).backward()  # the plain mean: twice that
    np.testing.assert_allclose(h.grad, np.array([2.0, 0.0, 6.0]) / 3, rtol=1e-6)


def test_classification_losses_by_hand():
    logits = np.array([[2.0, 0.0], [2.0, 0.0]])
    # -log softmax: log(1 + e⁻²) for the right class, log(1 + e²) for the wrong one
    right, wrong = math.log1p(math.exp(-2)), math.log1p(math.exp(2))
    assert _value(cr.nn.CrossEntropyLoss(), logits, [0, 1]) == pytest.approx((right + wrong) / 2)
    weighted = cr.nn.CrossEntropyLoss(weight=[1.0, 3.0])
    assert _value(weighted, logits, [0, 1]) == pytest.approx((right + 3 * wrong) / 4)
    smooth = cr.nn.CrossEntropyLoss(label_smoothing=0.2)  # q = [0.9, 0.1] for label 0
    assert _value(smooth, logits[:1], [0]) == pytest.approx(0.9 * right + 0.1 * wrong)
    soft = _value(cr.nn.CrossEntropyLoss(), logits[:1], np.array([[0.25, 0.75]]))
    assert soft == pytest.approx(0.25 * right + 0.75 * wrong)

    log_probs = np.log([[0.7, 0.2, 0.1], [0.1, 0.1, 0.8]])
    assert _value(cr.nn.NLLLoss(), log_probs, [0, 2]) == pytest.approx(
        -(math.log(0.7) + math.log(0.8)) / 2)
    assert _value(cr.nn.NLLLoss(), log_probs, [0, -100]) == pytest.approx(-math.log(0.7))
    assert _value(cr.nn.NLLLoss(weight=[2.0, 1.0, 1.0]), log_probs, [0, 2]) == pytest.approx(
        -(2 * math.log(0.7) + math.log(0.8)) / 3)

    assert _value(cr.nn.BCELoss(), [0.9, 0.2], np.array([1.0, 0.0])) == pytest.approx(
        -(math.log(0.9) + math.log(0.8)) / 2)
    saturated = _value(cr.nn.BCELoss(reduction="none"), [0.0, 1.0], np.array([1.0, 1.0]))
    np.testing.assert_allclose(saturated, [100.0, 0.0])  # log floored at -100, as PyTorch
    assert _value(cr.nn.BCEWithLogitsLoss(), [0.0], np.array([1.0])) == pytest.approx(math.log(2))
    assert _value(cr.nn.BCEWithLogitsLoss(pos_weight=[3.0]), [0.0], np.array([1.0])) == \
        pytest.approx(3 * math.log(2))


# ---------------------------------------------------------------- against PyTorch
def _torch_cases():
    """(chainrule loss factory, torch function, input, target, kwargs both take) per reduction."""
    cases = {
        "mse": (cr.nn.MSELoss, {}, "mse_loss", PRED, TARGET, {}),
        "l1": (cr.nn.L1Loss, {}, "l1_loss", PRED, TARGET, {}),
        "huber": (cr.nn.HuberLoss, {}, "huber_loss", PRED, TARGET, {}),
        "huber-0.3": (cr.nn.HuberLoss, {"delta": 0.3}, "huber_loss", PRED, TARGET,
                      {"delta": 0.3}),
        "ce": (cr.nn.CrossEntropyLoss, {}, "cross_entropy", LOGITS, LABELS, {}),
        "ce-weight-smooth": (cr.nn.CrossEntropyLoss, {"weight": WEIGHT, "label_smoothing": 0.15},
                             "cross_entropy", LOGITS, LABELS, None),
        "ce-smooth": (cr.nn.CrossEntropyLoss, {"label_smoothing": 0.3}, "cross_entropy", LOGITS,
                      LABELS, None),
        "ce-soft": (cr.nn.CrossEntropyLoss, {}, "cross_entropy", LOGITS, SOFT, {}),
        "ce-3d-ignore": (cr.nn.CrossEntropyLoss, {"weight": WEIGHT}, "cross_entropy", LOGITS_3D,
                         LABELS_3D, None),
        "nll": (cr.nn.NLLLoss, {}, "nll_loss", LOGITS, LABELS, {}),
        "nll-weight": (cr.nn.NLLLoss, {"weight": WEIGHT}, "nll_loss", LOGITS, LABELS, None),
        "nll-3d-ignore": (cr.nn.NLLLoss, {"weight": WEIGHT}, "nll_loss", LOGITS_3D, LABELS_3D,
                          None),
        "bce": (cr.nn.BCELoss, {}, "binary_cross_entropy", PROBS, BINARY, {}),
        "bce-weight": (cr.nn.BCELoss, {"weight": PRED[0]}, "binary_cross_entropy", PROBS, BINARY,
                       None),
        "bce-logits": (cr.nn.BCEWithLogitsLoss, {}, "binary_cross_entropy_with_logits", PRED,
                       PROBS, {}),
        "bce-logits-weights": (cr.nn.BCEWithLogitsLoss,
                               {"weight": PROBS[0], "pos_weight": WEIGHT[:3]},
                               "binary_cross_entropy_with_logits", PRED, BINARY, None),
    }
    return [pytest.param(cls, options, torch_name, x, target,
                         options if torch_options is None else torch_options, reduction,
                         id=f"{name}-{reduction}")
            for name, (cls, options, torch_name, x, target, torch_options) in cases.items()
            for reduction in REDUCTIONS]


@pytest.mark.parametrize(("cls", "options", "torch_name", "x", "target", "kwargs", "reduction"),
                         _torch_cases())
def test_value_and_gradient_match_torch(cls, options, torch_name, x, target, kwargs, reduction):
    torch = importorskip("torch")
    ours_x = cr.tensor(x.copy(), requires_grad=True)
    ours = cls(reduction=reduction, **options)(ours_x, target)
    torch_x = torch.tensor(x, requires_grad=True)
    torch_kwargs = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v
                    for k, v in kwargs.items()}
    expected = getattr(torch.nn.functional, torch_name)(
        torch_x, torch.tensor(target), reduction=reduction, **torch_kwargs)
    np.testing.assert_allclose(ours.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    upstream = np.linspace(0.5, 1.5, ours.data.size).reshape(ours.shape)
    ours.backward(upstream)
    expected.backward(torch.tensor(upstream))
    np.testing.assert_allclose(ours_x.grad, torch_x.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_textbook_mse_matches_half_of_torch():
    torch = importorskip("torch")
    ours = cr.nn.MSELoss(half=True)(cr.tensor(PRED), TARGET).item()
    expected = 0.5 * torch.nn.functional.mse_loss(torch.tensor(PRED), torch.tensor(TARGET))
    assert ours == pytest.approx(expected.item(), rel=1e-12)


# ---------------------------------------------------------------- gradients (float64)
GRADCHECK = [
    ("l1", lambda x: F.l1_loss(x, TARGET[:2] + 0.05, "none")),  # off the kink at 0
    ("huber", lambda x: F.huber_loss(x, TARGET[:2], "sum", delta=0.8)),
    ("huber-mean", lambda x: F.huber_loss(x, TARGET[:2], delta=1.5)),
    ("nll", lambda x: F.nll_loss(x, np.array([0, 2]), WEIGHT[:3])),
    ("nll-none", lambda x: F.nll_loss(x, np.array([1, 2]), reduction="none")),
    ("bce", lambda x: F.binary_cross_entropy(x.sigmoid(), BINARY[:2], PROBS[0])),
    ("bce-sum", lambda x: F.binary_cross_entropy(x.sigmoid(), PROBS[:2], reduction="sum")),
    ("mse-half", lambda x: cr.nn.MSELoss(half=True)(x, TARGET[:2])),
    ("ce", lambda x: cr.nn.CrossEntropyLoss(WEIGHT[:3], label_smoothing=0.1)(x, [0, 2])),
    ("bce-logits", lambda x: cr.nn.BCEWithLogitsLoss(pos_weight=WEIGHT[:3])(x, PROBS[:2])),
]


@pytest.mark.parametrize("fn", [case[1] for case in GRADCHECK], ids=[c[0] for c in GRADCHECK])
def test_gradcheck(fn):
    assert cr.gradcheck(fn, cr.tensor(PRED[:2].copy(), requires_grad=True))


def test_regression_target_gradient():
    pred = cr.tensor(PRED[:2].copy(), requires_grad=True)
    target = cr.tensor(TARGET[:2].copy(), requires_grad=True)
    assert cr.gradcheck(lambda p, t: F.huber_loss(p, t, "none", delta=0.7), pred, target)
    assert cr.gradcheck(lambda p, t: F.l1_loss(p, t), pred, target)


# ---------------------------------------------------------------- stability and dtype
def _extreme_cases():
    logits = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5.0]], dtype=np.float32)
    labels = np.array([1, 0])
    binary = np.array([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=np.float32)
    return [
        ("mse", lambda x: cr.nn.MSELoss()(x, binary)),
        ("l1", lambda x: cr.nn.L1Loss()(x, binary)),
        ("huber", lambda x: cr.nn.HuberLoss()(x, binary)),
        ("ce", lambda x: cr.nn.CrossEntropyLoss()(x, labels)),
        ("ce-smooth", lambda x: cr.nn.CrossEntropyLoss(label_smoothing=0.1)(x, labels)),
        ("ce-soft", lambda x: cr.nn.CrossEntropyLoss()(x, binary / 2)),
        ("nll", lambda x: cr.nn.NLLLoss()(cr.nn.LogSoftmax()(x), labels)),
        ("bce", lambda x: cr.nn.BCELoss()(cr.nn.Sigmoid()(x), binary)),
        ("bce-logits", lambda x: cr.nn.BCEWithLogitsLoss()(x, binary)),
    ], logits


@pytest.mark.parametrize("index", range(9))
def test_no_nan_or_inf_at_logits_1e4(index):
    cases, logits = _extreme_cases()
    name, fn = cases[index]
    x = cr.tensor(logits.copy(), requires_grad=True)
    out = fn(x)
    out.backward()
    assert out.dtype == np.float32 and x.grad.dtype == np.float32, name
    assert np.isfinite(out.data).all() and np.isfinite(x.grad).all(), name
    assert out.item() > 1.0  # the wrong confident predictions cost a lot


def test_float32_stays_float32_with_integer_and_float64_targets():
    x = cr.tensor(PRED.astype(np.float32), requires_grad=True)
    targets = [np.ones((4, 3), dtype=np.int64), TARGET, [[1] * 3] * 4]
    for loss in (cr.nn.MSELoss(), cr.nn.L1Loss(), cr.nn.HuberLoss()):
        for target in targets:
            assert loss(x, target).dtype == np.float32, (loss, type(target))
    probs = cr.tensor(PROBS.astype(np.float32), requires_grad=True)
    for loss in (cr.nn.BCELoss(PRED[0]), cr.nn.BCEWithLogitsLoss()):
        out = loss(probs, BINARY.astype(np.int64))
        out.backward()
        assert out.dtype == np.float32 and probs.grad.dtype == np.float32
    logits = cr.tensor(LOGITS.astype(np.float32))
    assert cr.nn.NLLLoss(WEIGHT)(logits, LABELS).dtype == np.float32
    assert cr.nn.CrossEntropyLoss(WEIGHT)(logits, LABELS).dtype == np.float32


# ---------------------------------------------------------------- errors
def test_errors_are_clear():
    with pytest.raises(ValueError, match=r"MSELoss: reduction must be one of \('mean', 'sum', "
                                         r"'none'\), got 'avg'"):
        cr.nn.MSELoss("avg")
    with pytest.raises(ValueError, match=r"mse_loss: prediction shape \(3, 1\) and target shape "
                                         r"\(3,\) differ"):
        F.mse_loss(cr.tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match=r"l1_loss: prediction shape \(3, 1\) and target"):
        F.l1_loss(cr.tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match="huber_loss: delta must be > 0, got 0"):
        F.huber_loss(cr.tensor([1.0]), [1.0], delta=0)
    with pytest.raises(ValueError, match=r"nll_loss: got float64 labels of shape \(5,\) for "
                                         r"log_probs of shape \(5, 4\); expected integer labels "
                                         r"of shape \(5,\)"):
        F.nll_loss(cr.tensor(LOGITS), LABELS.astype(float))
    with pytest.raises(ValueError, match="nll_loss: label 4 is out of range for 4 classes"):
        F.nll_loss(cr.tensor(LOGITS), LABELS + 1)
    with pytest.raises(ValueError, match=r"binary_cross_entropy: probs must lie in \[0, 1\]"):
        F.binary_cross_entropy(cr.tensor([0.5, 1.5]), [1.0, 0.0])
    with pytest.raises(ValueError, match="nll_loss: reduction must be one of"):
        F.nll_loss(cr.tensor(LOGITS), LABELS, reduction="mean ")
    with pytest.raises(ValueError, match=r"cross_entropy: label_smoothing must be in \[0, 1\)"):
        F.cross_entropy(cr.tensor(LOGITS), LABELS, label_smoothing=1.0)
    with pytest.raises(ValueError, match=r"cross_entropy: expected logits of shape \(N, C, "
                                         r"\.\.\.\), got \(4,\)"):
        F.cross_entropy(cr.tensor(LOGITS[0]), LABELS[:1])
    with pytest.raises(ValueError, match=r"cross_entropy: probability targets of shape \(5, 3\) "
                                         r"must match logits \(5, 4\)"):
        F.cross_entropy(cr.tensor(LOGITS), SOFT[:, :3])
    with pytest.raises(ValueError, match=r"binary_cross_entropy_with_logits: target shape \(3,\) "
                                         r"must match logits shape \(4, 3\)"):
        F.binary_cross_entropy_with_logits(cr.tensor(PRED), BINARY[0])
    with pytest.raises(TypeError, match="cross_entropy: expected a Tensor, got ndarray"):
        F.cross_entropy(LOGITS, LABELS)


def test_a_loss_module_names_itself_in_the_errors_of_its_function():
    with pytest.raises(ValueError, match=r"^MSELoss\(reduction='mean'\): prediction shape "
                                         r"\(3, 1\) and target shape \(3,\) differ"):
        cr.nn.MSELoss()(cr.tensor(np.zeros((3, 1))), np.zeros(3))
    with pytest.raises(ValueError, match=r"^HuberLoss\(reduction='mean', delta=0\): delta must be "
                                         r"> 0, got 0"):
        cr.nn.HuberLoss(delta=0)(cr.tensor([1.0]), [1.0])
    with pytest.raises(ValueError, match=r"^NLLLoss\(reduction='mean'\): label 4 is out of range "
                                         r"for 4 classes"):
        cr.nn.NLLLoss()(cr.tensor(LOGITS), LABELS + 1)
    with pytest.raises(ValueError, match=r"^CrossEntropyLoss\(reduction='mean'\): label -1 is out "
                                         r"of range for 4 classes"):
        cr.nn.CrossEntropyLoss()(cr.tensor(LOGITS), LABELS - 1)


def test_ignored_labels_may_sit_outside_the_classes_and_inside_them():
    # -100 (the default) and a class index both mark samples that add nothing.
    logits = cr.tensor(LOGITS)
    kept = F.cross_entropy(cr.tensor(LOGITS[:3]), LABELS[:3]).item()
    assert F.cross_entropy(logits, np.r_[LABELS[:3], -100, -100]).item() == pytest.approx(kept)
    labels = np.r_[LABELS[:3], 2, 2]  # LABELS[:3] has no 2
    assert F.cross_entropy(logits, labels, ignore_index=2).item() == pytest.approx(
        F.cross_entropy(cr.tensor(LOGITS[:3]), LABELS[:3], ignore_index=2).item())
    assert F.nll_loss(logits, np.r_[LABELS[:3], -100, -100]).item() == pytest.approx(
        F.nll_loss(cr.tensor(LOGITS[:3]), LABELS[:3]).item())


# ---------------------------------------------------------------- lookup and saving
@pytest.mark.parametrize(("name", "cls"), [
    ("mse", "MSELoss"), ("MSELoss", "MSELoss"), ("mean_squared_error", "MSELoss"),
    ("mae", "L1Loss"), ("l1", "L1Loss"), ("huber", "HuberLoss"),
    ("cross_entropy", "CrossEntropyLoss"), ("crossentropy", "CrossEntropyLoss"),
    ("CrossEntropyLoss", "CrossEntropyLoss"), ("nll", "NLLLoss"), ("bce", "BCELoss"),
    ("binary_crossentropy", "BCELoss"), ("bce_with_logits", "BCEWithLogitsLoss"),
    ("BCEWithLogitsLoss", "BCEWithLogitsLoss"),
])
def test_loss_lookup(name, cls):
    assert type(cr.nn.get_loss(name)).__name__ == cls


def test_loss_lookup_passes_objects_and_kwargs():
    criterion = cr.nn.L1Loss()
    assert cr.nn.get_loss(criterion) is criterion
    assert cr.nn.get_loss(F.cross_entropy) is F.cross_entropy
    assert cr.nn.get_loss(cr.nn.HuberLoss, delta=0.5).delta == 0.5
    assert cr.nn.get_loss("cross_entropy", label_smoothing=0.1).label_smoothing == 0.1
    with pytest.raises(ValueError, match=r"unknown loss 'hinge'; expected one of .*"
                                         r"\bcross_entropy, .* or a callable"):
        cr.nn.get_loss("hinge")


@pytest.mark.parametrize("loss", [
    cr.nn.MSELoss("sum", half=True), cr.nn.L1Loss("none"), cr.nn.HuberLoss(delta=0.5),
    cr.nn.CrossEntropyLoss(weight=np.array([1.0, 2.0, 1.0, 1.0]), label_smoothing=0.1),
    cr.nn.NLLLoss(weight=cr.tensor([1.0, 2.0, 1.0, 1.0]), ignore_index=3),
    cr.nn.BCELoss(weight=[2.0, 1.0, 1.0]), cr.nn.BCEWithLogitsLoss(pos_weight=np.ones(3)),
], ids=lambda m: type(m).__name__)
def test_loss_spec_round_trip(loss):
    spec = module_spec(loss)
    rebuilt = module_from_spec(spec)
    assert module_spec(rebuilt) == spec and repr(rebuilt) == repr(loss)
    x, target = ((LOGITS[:, :4], LABELS) if "NLL" in repr(loss) or "Cross" in repr(loss)
                 else (PROBS, BINARY))
    np.testing.assert_array_equal(rebuilt(cr.tensor(x), target).data,
                                  loss(cr.tensor(x), target).data)
