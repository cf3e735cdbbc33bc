"""A playground session: it trains, draws and explains the step it took with the real numbers."""

import base64

import numpy as np
import pytest

import chainrule as cr
from chainrule.playground.config import Config
from chainrule.playground.network import build_loss, build_model
from chainrule.playground.session import GRID, NoStepYet, Session


def _model_at(snapshot):
    """The network of a snapshot, with the weights its step saw."""
    config = Config.from_json(snapshot["config"])
    x = np.asarray(snapshot["x"], dtype=np.float32)
    model = build_model(config, x.shape[1], 2)
    model.load_state_dict({name: np.asarray(value, dtype=np.float32)
                           for name, value in snapshot["parameters"].items()})
    y = np.asarray(snapshot["y"])
    return model, x, y.astype(np.float32) if config.loss == "mse" else y, build_loss(config)


def test_xor_is_learned():
    session = Session(Config(dataset="xor", hidden=(4,), lr=0.05))
    first = session.history[-1]["train"]
    for _ in range(20):
        session.advance(steps=25)
    last = session.history[-1]
    assert last["train"] < first / 4 and last["test_accuracy"] > 0.9
    assert session.steps == 500 and session.epoch == 500 * 16 // 300
    assert len(session.history) == 21 and len(last["grad_norm"]) == 2


def test_a_frame_holds_what_the_page_draws():
    session = Session(Config(hidden=(3, 2), activation="sigmoid"))
    session.advance(steps=3)
    frame = session.frame(since=1)
    assert frame["step"] == 3 and len(frame["history"]) == 1
    assert [len(layer) for layer in frame["maps"]] == [3, 2, 1]
    unit = frame["maps"][0][0]
    assert (unit["lo"], unit["hi"]) == (0.0, 1.0)
    assert len(base64.b64decode(unit["map"])) == (GRID // 2) ** 2
    assert len(base64.b64decode(frame["boundary"]["classes"])) == GRID ** 2
    np.testing.assert_allclose(frame["weights"][1]["W"], session.linears[1].weight.data,
                               atol=1e-4)
    setup = session.setup()
    assert setup["sizes"] == [2, 3, 2, 1] and len(setup["points"]) == 400
    assert len(setup["input_maps"]) == 2


def test_relu_maps_scale_to_their_largest_value():
    session = Session(Config(hidden=(4,), activation="relu"))
    units = session.frame()["maps"][0]
    alive = [unit for unit in units if unit["hi"] > 1e-6]
    assert alive and all(unit["lo"] == 0.0 for unit in units)
    assert all(max(base64.b64decode(unit["map"])) == 255 for unit in alive)


def test_there_is_nothing_to_explain_before_the_first_step():
    session = Session(Config())
    with pytest.raises(NoStepYet, match="has not taken a step yet"):
        session.explain(1, "W", (0, 0))
    with pytest.raises(NoStepYet):
        session.snapshot()


@pytest.mark.parametrize("optimizer,decay", [("sgd", 0.0), ("sgd", 0.01), ("adam", 0.001)])
def test_an_explained_weight_agrees_with_explain_and_the_update(optimizer, decay):
    session = Session(Config(dataset="xor", hidden=(4, 3), optimizer=optimizer, lr=0.1,
                             weight_decay=decay, batch_size=8))
    session.advance(steps=7)
    answer = session.explain(2, "W", (1, 2))
    model, x, y, loss = _model_at(session.snapshot())
    # The same numbers as cr.explain on the step's weights and batch.
    reference = cr.explain(model, x, y, loss=loss, check=False)
    gradient = next(q for view in reference.layers for q in view.backward
                    if q.symbol == "∂J/∂W[2]").value
    assert answer["check"]["backward"] == pytest.approx(float(gradient[1, 2]), rel=1e-6)
    assert answer["path"]["gradient"] == pytest.approx(answer["check"]["backward"], rel=1e-5)
    assert answer["check"]["ok"] and answer["check"]["rel_error"] < 1e-3
    assert answer["batch_size"] == 8 and len(answer["path"]["terms"]) == 8
    assert answer["loss"]["formula"] == "J = 1/(2m) Σ (h − y)²"
    # The update the panel shows is the one the optimizer made.
    update = answer["update"]
    assert update["before"] == pytest.approx(float(model[2].weight.data[1, 2]))
    assert update["after"] == pytest.approx(float(session.linears[1].weight.data[1, 2]))
    assert update["computed"] == pytest.approx(update["after"], rel=1e-5, abs=1e-7)
    assert update["gradient"] == pytest.approx(
        answer["check"]["backward"] + decay * update["before"], rel=1e-6)


def test_a_bias_on_cross_entropy_digits():
    session = Session(Config(dataset="digits", hidden=(5,), loss="cross_entropy", batch_size=4))
    session.advance(steps=2)
    answer = session.explain(2, "b", (7,))
    assert answer["path"]["equation"] == "∂J/∂b[2]₈ = Σᵢ ∂J/∂z[2]₈"
    assert answer["loss"]["name"] == "softmax cross-entropy" and answer["check"]["ok"]
    with pytest.raises(ValueError, match="outside b"):
        session.explain(2, "b", (10,))


def test_learning_settings_change_live_and_others_start_afresh():
    session = Session(Config())
    session.advance(steps=3)
    assert session.configure(Config(lr=0.5, batch_size=2)) is False
    assert session.steps == 3 and session.optimizer.param_groups[0]["lr"] == 0.5
    session.advance()
    assert len(session.batch[0]) == 2
    generation = session.generation
    assert session.configure(Config(hidden=(2,))) is True
    assert session.steps == 0 and session.generation == generation + 1
    assert len(session.linears) == 2


def test_a_long_run_thins_its_history(monkeypatch):
    monkeypatch.setattr("chainrule.playground.session.HISTORY_POINTS", 10)
    session = Session(Config(hidden=(2,)))
    for _ in range(10):
        session.advance()
    assert len(session.history) == 6 and session.history_version == 1
    assert [point["step"] for point in session.history] == [0, 2, 4, 6, 8, 10]
