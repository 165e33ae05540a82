"""Optimisers: ways to walk downhill on the loss using backprop gradients.

Each optimiser is a generator.  It asks for gradients through ``objective(k)``
(one forward and backward pass of the computing graph) and yields
``(k, loss)`` once per pass, so the trainer can record, judge convergence and
stop it at any time without knowing how it works.
"""

from __future__ import annotations

import numpy as np
from numpy.polynomial import legendre

DEFAULT_LR = {"gd": 0.1, "momentum": 0.02, "adam": 0.01}
"""Learning rates that are stable for the scaled variable t in [-1, 1]."""


def gradient_descent(objective, k, lr):
    """The textbook method: k <- k - lr * gradient."""
    while True:
        loss, grad = objective(k)
        yield k, loss
        k = k - lr * grad


def momentum(objective, k, lr, beta=0.9):
    """Heavy-ball descent: a velocity that remembers past gradients."""
    velocity = np.zeros_like(k)
    while True:
        loss, grad = objective(k)
        yield k, loss
        velocity = beta * velocity - lr * grad
        k = k + velocity


def adam(objective, k, lr, beta1=0.9, beta2=0.999, eps=1e-8):
    """Adam (Kingma and Ba, 2015): steps scaled by running gradient moments."""
    m = np.zeros_like(k)
    v = np.zeros_like(k)
    step = 0
    while True:
        loss, grad = objective(k)
        yield k, loss
        step += 1
        m = beta1 * m + (1 - beta1) * grad
        v = beta2 * v + (1 - beta2) * grad * grad
        m_hat = m / (1 - beta1 ** step)
        v_hat = v / (1 - beta2 ** step)
        k = k - lr * m_hat / (np.sqrt(v_hat) + eps)


def legendre_preconditioner(degree):
    """M = L L^T, with L's columns the normalised Legendre polynomials in powers of t.

    Preconditioned conjugate gradient with M is plain conjugate gradient in
    the Legendre basis, where the loss's Hessian is close to the identity for
    data spread over [-1, 1]: the monomials t**i are nearly parallel at high
    degree, the Legendre polynomials are orthogonal.  The parameters stay the
    Taylor coefficients; only the search directions change.
    """
    basis = np.zeros((degree + 1, degree + 1))
    for j in range(degree + 1):
        unit = np.zeros(j + 1)
        unit[j] = 1.0
        basis[: j + 1, j] = legendre.leg2poly(unit) * np.sqrt(2 * j + 1)
    return basis @ basis.T


def conjugate_gradient(objective, hessian_times, k):
    """Preconditioned linear conjugate gradient for a quadratic loss.

    ``hessian_times(p)`` is itself a backprop pass (the gradient of the
    loss's quadratic part at p), so every epoch is one pass of the graph.
    Each step is the exact minimum along its direction, and in exact
    arithmetic d + 1 steps reach the least-squares optimum; rounding makes a
    few more useful.  The gradient and loss after a step follow from the
    quadratic's algebra, so no pass is spent on recomputing them.
    """
    precondition = legendre_preconditioner(len(k) - 1)
    loss, grad = objective(k)
    yield k, loss
    z = precondition @ grad
    direction = -z
    rz = grad @ z
    while rz > 0:
        hp = hessian_times(direction)
        curvature = direction @ hp
        if not curvature > 0:
            return  # no descent left that float64 can represent
        alpha = rz / curvature
        k = k + alpha * direction
        loss = loss - 0.5 * alpha * rz
        grad = grad + alpha * hp
        yield k, loss
        z = precondition @ grad
        rz_next = grad @ z
        direction = -z + (rz_next / rz) * direction
        rz = rz_next


OPTIMIZERS = ("cg", "gd", "momentum", "adam")
