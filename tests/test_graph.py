"""Every operator's backward rule against central finite differences."""

import numpy as np
import pytest

from fitbp.backprop import graph
from fitbp.fitting.losses import LOSSES
from fitbp.fitting.model import design_matrix, loss_graph


def numeric_gradient(f, values, index, h=1e-6):
    """Central differences of scalar f with respect to values[index], entry by entry."""
    grad = np.zeros_like(values[index])
    for pos in np.ndindex(values[index].shape):
        plus = [v.copy() for v in values]
        minus = [v.copy() for v in values]
        plus[index][pos] += h
        minus[index][pos] -= h
        grad[pos] = (f(*plus) - f(*minus)) / (2 * h)
    return grad


def check_gradients(build, *shapes, rng, positive=False, tol=1e-6):
    """Build the expression once in the graph (backprop) and compare with finite differences.

    ``build`` maps nodes (or plain arrays) to a scalar node; the same function,
    fed arrays wrapped as constants, gives the value for the differences.
    """
    values = [rng.uniform(0.5, 2.0, s) if positive else rng.normal(size=s) for s in shapes]
    params = [graph.parameter(v) for v in values]
    out = build(*params)
    out.backward()

    def value_of(*arrays):
        return float(build(*[graph.constant(a) for a in arrays]).value)

    for i, p in enumerate(params):
        expected = numeric_gradient(value_of, values, i)
        assert p.grad.shape == p.value.shape
        np.testing.assert_allclose(p.grad, expected, rtol=tol, atol=tol)


# Each case wraps the operator under test in a weighted sum, so the gradient
# reaching the operator is not all ones and a wrong rule cannot hide.
WEIGHTS = np.linspace(-1.5, 2.0, 12)


def weighted(node):
    w = WEIGHTS[: node.value.size].reshape(node.shape)
    return (node * w).sum()


CASES = {
    "add": (lambda a, b: weighted(a + b), [(3, 4), (3, 4)]),
    "add broadcast scalar": (lambda a, b: weighted(a + b), [(3, 4), ()]),
    "add broadcast row": (lambda a, b: weighted(a + b), [(3, 4), (4,)]),
    "sub": (lambda a, b: weighted(a - b), [(5,), (5,)]),
    "rsub constant": (lambda a: weighted(2.0 - a), [(5,)]),
    "mul": (lambda a, b: weighted(a * b), [(2, 3), (2, 3)]),
    "mul broadcast": (lambda a, b: weighted(a * b), [(2, 3), (1, 3)]),
    "neg": (lambda a: weighted(-a), [(4,)]),
    "pow 2": (lambda a: weighted(a ** 2), [(6,)]),
    "pow 3": (lambda a: weighted(a ** 3), [(6,)]),
    "pow -1.5": (lambda a: weighted(a ** -1.5), [(6,)]),
    "matmul matrix-vector": (lambda a, b: weighted(a @ b), [(4, 3), (3,)]),
    "matmul matrix-matrix": (lambda a, b: weighted(a @ b), [(4, 3), (3, 2)]),
    "sum": (lambda a: a.sum() * 3.0, [(3, 2)]),
    "mean": (lambda a: a.mean() * 3.0, [(7,)]),
    "abs": (lambda a: weighted(graph.absolute(a)), [(6,)]),
    "cos": (lambda a: weighted(graph.cosine(a)), [(6,)]),
    "sin": (lambda a: weighted(graph.sine(a)), [(6,)]),
    "cos of a scaled outer product": (lambda w, x: weighted(graph.cosine(x * w)), [(1,), (5, 1)]),
    "node used twice": (lambda a: weighted(a * a + a), [(5,)]),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_operator_backward_matches_finite_differences(name, rng):
    build, shapes = CASES[name]
    check_gradients(build, *shapes, rng=rng, positive=name.startswith("pow -"))


def test_power_of_negative_base_is_finite(rng):
    a = graph.parameter(np.array([-2.0, -0.5, 3.0]))
    (a ** 3).sum().backward()
    np.testing.assert_allclose(a.grad, 3 * a.value ** 2)


def test_mse_gradient_matches_closed_form(rng):
    t = rng.uniform(-1, 1, 200)
    design = design_matrix(t, 5)
    y = np.sin(3 * t) + rng.normal(0, 0.1, t.size)
    k = rng.normal(size=6)
    a = graph.parameter(k)
    loss = loss_graph(design, y, a, "mse")
    loss.backward()
    closed = 2 / t.size * design.T @ (design @ k - y)
    np.testing.assert_allclose(a.grad, closed, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(float(loss.value), np.mean((design @ k - y) ** 2), rtol=1e-14)


def test_second_backward_gives_fresh_gradients(rng):
    a = graph.parameter(rng.normal(size=4))
    loss = (a * a).sum()
    loss.backward()
    first = a.grad.copy()
    loss.backward()
    np.testing.assert_array_equal(a.grad, first)


def test_deep_graph_does_not_hit_recursion_limit():
    a = graph.parameter(np.array([1.0]))
    node = a
    for _ in range(5000):
        node = node + 1.0
    node.sum().backward()
    assert a.grad[0] == 1.0


def test_constants_get_no_gradient(rng):
    v = graph.constant(rng.normal(size=(5, 2)))
    a = graph.parameter(rng.normal(size=2))
    (v @ a).sum().backward()
    assert v.grad is None
    assert not v.requires_grad


def test_backward_needs_a_scalar(rng):
    a = graph.parameter(rng.normal(size=3))
    with pytest.raises(ValueError, match="scalar"):
        (a * 2.0).backward()


def test_nodes_record_their_operator_and_inputs():
    a = graph.parameter(np.ones(2), "a")
    b = a * 3.0
    c = b.sum()
    assert (c.op, b.op, a.op) == ("sum", "mul", "param")
    assert c.parents == (b,)
    assert b.parents[0] is a


def test_minimum_and_robust_losses_match_finite_differences(rng):
    check_gradients(lambda a: weighted(graph.minimum(a, 0.3)), (7,), rng=rng)
    t = rng.uniform(-1, 1, 40)
    design = design_matrix(t, 3)
    y = np.sin(2 * t) + rng.standard_t(2, t.size) * 0.2
    for loss in LOSSES:
        check_gradients(lambda a: loss_graph(design, y, a, loss, delta=0.1), (4,), rng=rng, tol=1e-5)


@pytest.mark.parametrize("loss", list(LOSSES))
def test_letting_go_of_unread_values_changes_no_gradient(loss, rng):
    """backward(keep_values=False) frees what no rule reads (here V @ a and the squares) and keeps
    what rules read (the residual, the parameter, the data): the gradients are the same."""
    design = design_matrix(rng.uniform(-1, 1, 300), 4)
    y = rng.normal(size=300)
    k = rng.normal(size=5)
    gradients = []
    for keep in (True, False):
        a = graph.parameter(k, "a")
        root = loss_graph(design, y, a, loss, 0.5)
        root.backward(keep_values=keep)
        gradients.append(a.grad)
        nodes = graph.topological_order(root)
        released = [n.op for n in nodes if n.value is None]
        if keep:
            assert not released
        else:
            assert "matmul" in released and root.value is not None and a.value is not None
            if loss == "mse":
                assert sorted(released) == ["matmul", "pow"]
                assert next(n for n in nodes if n.op == "sub").value is not None  # pow's rule reads it
    np.testing.assert_array_equal(gradients[0], gradients[1])
