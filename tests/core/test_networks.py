"""MLP initialisation and the GRU block's episode resets."""

import math

import pytest
import torch
from torch import nn

from agents.core.networks import MLP, GRUBlock, orthogonal_init


def gram_of_smaller_side(weight):
    return weight @ weight.T if weight.shape[0] <= weight.shape[1] else weight.T @ weight


@pytest.mark.parametrize("layer_norm", [False, True])
def test_mlp_layers_are_orthogonal_with_sqrt2_gain(layer_norm):
    torch.manual_seed(0)
    mlp = MLP(5, (16, 3), activation="relu", layer_norm=layer_norm)
    assert mlp.output_dim == 3
    linears = [m for m in mlp.modules() if isinstance(m, nn.Linear)]
    assert [tuple(layer.weight.shape) for layer in linears] == [(16, 5), (3, 16)]
    for linear in linears:
        gram = gram_of_smaller_side(linear.weight.detach())
        assert torch.allclose(gram, 2.0 * torch.eye(gram.shape[0]), atol=1e-5)
        assert torch.all(linear.bias == 0)
    norms = [m for m in mlp.modules() if isinstance(m, nn.LayerNorm)]
    assert len(norms) == (2 if layer_norm else 0)
    out = mlp(torch.randn(4, 7, 5))
    assert out.shape == (4, 7, 3)
    if layer_norm:
        assert torch.allclose(out.mean(-1), torch.zeros(4, 7), atol=1e-5)


def test_policy_head_gain_and_bias():
    layer = orthogonal_init(nn.Linear(64, 6), gain=0.01, bias=0.5)
    w = layer.weight.detach()
    assert torch.allclose(w @ w.T, 1e-4 * torch.eye(6), atol=1e-9)
    assert torch.all(layer.bias == 0.5)
    with pytest.raises(ValueError, match="weight matrix"):
        orthogonal_init(nn.Tanh(), 1.0)


def test_mlp_rejects_unknown_activation_with_close_match():
    with pytest.raises(ValueError, match="did you mean tanh"):
        MLP(3, (4,), activation="tahn")
    assert MLP(3, ()).output_dim == 3


def test_gru_resets_hidden_state_at_episode_starts():
    torch.manual_seed(1)
    gru = GRUBlock(3, 5)
    steps, batch = 9, 3
    x = torch.randn(steps, batch, 3)
    hidden = torch.randn(batch, 5)
    starts = torch.zeros(steps, batch, dtype=torch.bool)
    starts[4, 0] = True
    starts[6, 2] = True
    starts[0, 1] = True
    out, final = gru(x, hidden, starts)
    assert out.shape == (steps, batch, 5) and final.shape == (batch, 5)

    for b in range(batch):
        # Reference: run each episode piece separately with nn.GRU from the right initial state.
        cuts = [0] + [t for t in range(steps) if starts[t, b] and t > 0] + [steps]
        state = torch.zeros(1, 1, 5) if starts[0, b] else hidden[b].reshape(1, 1, 5)
        pieces = []
        for begin, end in zip(cuts[:-1], cuts[1:]):
            if begin > 0:
                state = torch.zeros(1, 1, 5)
            piece, state = gru.gru(x[begin:end, b : b + 1], state)
            pieces.append(piece)
        expected = torch.cat(pieces)[:, 0]
        assert torch.allclose(out[:, b], expected, atol=1e-6)
        assert torch.allclose(final[b], state.reshape(5), atol=1e-6)

    # Without resets the state carries over and the outputs differ after the start.
    unreset, _ = gru(x, hidden, torch.zeros(steps, batch, dtype=torch.bool))
    assert not torch.allclose(unreset[4:, 0], out[4:, 0])
    assert torch.allclose(unreset[:4, 0], out[:4, 0])


def test_gru_step_by_step_equals_whole_sequence():
    torch.manual_seed(2)
    gru = GRUBlock(2, 4)
    x = torch.randn(6, 2, 2)
    starts = torch.zeros(6, 2)
    starts[3, 1] = 1.0
    whole, final = gru(x, gru.initial_state(2), starts)
    state = gru.initial_state(2)
    outputs = []
    for t in range(6):
        out, state = gru(x[t : t + 1], state, starts[t : t + 1])
        outputs.append(out)
    assert torch.allclose(torch.cat(outputs), whole, atol=1e-6)
    assert torch.allclose(state, final, atol=1e-6)


def test_gru_weights_orthogonal_and_shapes_validated():
    gru = GRUBlock(3, 4)
    w = gru.gru.weight_hh_l0.detach()  # [3H, H]
    assert torch.allclose(w.T @ w, torch.eye(4), atol=1e-5)
    assert torch.all(gru.gru.bias_ih_l0 == 0)
    with pytest.raises(ValueError, match="episode_starts"):
        gru(torch.zeros(2, 3, 3), torch.zeros(3, 4), torch.zeros(3, 3))
    assert math.isclose(sum(p.numel() for p in gru.parameters()), 3 * (3 * 4 + 4 * 4 + 2 * 4))


@pytest.mark.parametrize("layer_norm", [False, True])
def test_mlp_forward_reads_the_current_parameters(layer_norm):
    """The plain-function forward equals the layers run as modules after in-place updates,
    load_state_dict, a reassigned parameter and a deep copy."""
    import copy

    torch.manual_seed(0)
    mlp, other = MLP(5, (8, 8), "tanh", layer_norm), MLP(5, (8, 8), "tanh", layer_norm)
    x = torch.randn(3, 5)

    def agrees(model):
        return torch.allclose(model(x), model.layers(x), atol=1e-6)

    with torch.no_grad():
        for parameter in mlp.parameters():
            parameter.add_(torch.randn_like(parameter))
    assert agrees(mlp)
    mlp.load_state_dict(other.state_dict())
    assert torch.allclose(mlp(x), other(x), atol=1e-6) and agrees(mlp)
    mlp.layers[0].weight = nn.Parameter(torch.randn(8, 5))
    assert agrees(mlp)
    clone = copy.deepcopy(mlp)
    with torch.no_grad():
        clone.layers[2].bias.add_(1.0)
    assert agrees(clone) and agrees(mlp)
    assert not torch.allclose(clone(x), mlp(x))
