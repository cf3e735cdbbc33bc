"""Sequential and ModuleList: list behaviour, names, state dicts, modes, repr and summary."""

import numpy as np
import pytest

import chainrule as cr
from chainrule.io import module_from_spec, module_spec


def _mlp():
    return cr.nn.Sequential(cr.nn.Linear(4, 8), cr.nn.ReLU(), cr.nn.Dropout(0.5),
                            cr.nn.Linear(8, 3))


def test_sequential_forward_is_composition():
    model = _mlp().eval()
    x = cr.tensor(np.random.default_rng(0).standard_normal((5, 4)).astype(np.float32))
    expected = model[3](model[1](model[0](x)))
    np.testing.assert_array_equal(model(x).data, expected.data)
    assert model(x).shape == (5, 3)


def test_sequential_list_behaviour():
    model = _mlp()
    assert len(model) == 4
    assert isinstance(model[0], cr.nn.Linear) and model[-1] is model[3]
    assert [type(m).__name__ for m in model] == ["Linear", "ReLU", "Dropout", "Linear"]
    head = model[:2]
    assert isinstance(head, cr.nn.Sequential) and len(head) == 2
    assert head[0] is model[0]  # slices share the layers
    assert [type(m).__name__ for m in model[::-2]] == ["Linear", "ReLU"]
    assert model.append(cr.nn.Softmax()) is model and len(model) == 5
    model.extend([cr.nn.Identity(), cr.nn.Identity()])
    assert len(model) == 7 and [n for n, _ in model.named_children()][-1] == "6"
    with pytest.raises(IndexError, match="Sequential index 7 is out of range for 7 modules"):
        model[7]
    with pytest.raises(TypeError, match="Sequential: item 7 must be a Module, got ufunc"):
        model.append(np.tanh)
    with pytest.raises(TypeError, match="Sequential: item 1 must be a Module, got int"):
        cr.nn.Sequential(cr.nn.ReLU(), 3)


def test_state_dict_dotted_names_and_round_trip():
    model = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(),
                             cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.Linear(3, 1)))
    names = list(model.state_dict())
    assert names == ["0.weight", "0.bias", "2.0.weight", "2.0.bias", "2.1.weight", "2.1.bias"]
    clone = cr.nn.Sequential(cr.nn.Linear(2, 3), cr.nn.Tanh(),
                             cr.nn.Sequential(cr.nn.Linear(3, 3), cr.nn.Linear(3, 1)))
    x = cr.tensor([[0.5, -1.0]])
    assert not np.allclose(clone(x).data, model(x).data)
    clone.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(clone(x).data, model(x).data)
    assert model.num_parameters() == 9 + 12 + 4


def test_train_eval_reaches_children():
    model = _mlp()
    x = cr.tensor(np.ones((200, 4), dtype=np.float32))
    model.eval()
    assert not model[2].training
    np.testing.assert_array_equal(model(x).data, model(x).data)  # dropout off: deterministic
    model.train()
    assert all(m.training for m in model.modules())
    assert not np.array_equal(model(x).data, model(x).data)


def test_nested_repr():
    model = cr.nn.Sequential(cr.nn.Linear(2, 3, bias=False), cr.nn.Sequential(cr.nn.ReLU()))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=False)\n"
        "  (1): Sequential(\n"
        "    (0): ReLU()\n"
        "  )\n"
        ")"
    )


def test_summary_table():
    model = cr.nn.Sequential(cr.nn.Flatten(), cr.nn.Linear(4, 8), cr.nn.ReLU(),
                             cr.nn.Linear(8, 3, bias=False))
    text = model.summary((2, 2), print_fn=None)
    lines = text.splitlines()
    rows = [line.split() for line in lines[4:8]]
    assert rows == [["0", "(Flatten)", "(1,", "4)", "0"],
                    ["1", "(Linear)", "(1,", "8)", "40"],
                    ["2", "(ReLU)", "(1,", "8)", "0"],
                    ["3", "(Linear)", "(1,", "3)", "24"]]
    assert "Total params: 64" in lines and "Trainable params: 64" in lines
    assert model.training  # summary restores the mode


def test_module_list():
    blocks = cr.nn.ModuleList([cr.nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3 and blocks.num_parameters() == 18
    assert list(blocks.state_dict())[:2] == ["0.weight", "0.bias"]
    blocks.append(cr.nn.Linear(2, 1))
    assert blocks[-1].out_features == 1
    sub = blocks[1:3]
    assert isinstance(sub, cr.nn.ModuleList) and sub[0] is blocks[1]

    class Tower(cr.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = cr.nn.ModuleList([cr.nn.Linear(2, 2), cr.nn.Linear(2, 2)])

        def forward(self, x):
            for block in self.blocks:
                x = block(x)
            return x

    tower = Tower()
    assert [n for n, _ in tower.named_parameters()] == [
        "blocks.0.weight", "blocks.0.bias", "blocks.1.weight", "blocks.1.bias"]
    assert tower(cr.tensor([[1.0, 2.0]])).shape == (1, 2)
    with pytest.raises(NotImplementedError):
        blocks(cr.tensor([[1.0, 2.0]]))


def test_spec_round_trip_keeps_appended_layers():
    model = cr.nn.Sequential(cr.nn.Linear(3, 4), cr.nn.ELU(alpha=0.5))
    model.append(cr.nn.Linear(4, 2, bias=False))
    spec = module_spec(model)
    rebuilt = module_from_spec(spec)
    assert repr(rebuilt) == repr(model)
    assert module_spec(rebuilt) == spec
    rebuilt.load_state_dict(model.state_dict())
    x = cr.tensor([[1.0, 0.0, -1.0]])
    np.testing.assert_array_equal(rebuilt(x).data, model(x).data)
    blocks = cr.nn.ModuleList([cr.nn.Linear(1, 1)])
    blocks.append(cr.nn.GELU("tanh"))
    assert repr(module_from_spec(module_spec(blocks))) == repr(blocks)
