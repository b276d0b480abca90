"""nn.LinearRegression / LogisticRegression and optimizers built without parameters (bound later)."""
import numpy as np
import pytest

import ember as em
from ember import nn
from ember.nn import LinearRegression, LogisticRegression
from ember.optim import SGD, Adam


def regression_data(rng, n=40):
    x = rng.uniform(-1, 1, (n, 2)).astype(np.float32)
    return x, x @ np.array([2.0, -3.0], np.float32) + 0.5


def test_the_seed_snippet_runs_as_written(rng):
    X, y = regression_data(rng)
    model = LinearRegression()
    optimizer = SGD(lr=0.01, momentum=0.9)
    model.fit(X, y, epochs=60, batch_size=1, verbose=0)
    preds = model.predict(X)
    assert model.optimizer is optimizer and optimizer.bound
    assert isinstance(preds, np.ndarray) and preds.shape == y.shape
    np.testing.assert_allclose(preds, y, atol=1e-3)
    np.testing.assert_allclose(model.coef_, [2.0, -3.0], atol=1e-3)
    np.testing.assert_allclose(model.intercept_, 0.5, atol=1e-3)


def test_one_sgd_step_is_the_gradient_step(rng):
    """lr 0.1, one full batch, no momentum: w -= lr * 2 X^T (X w + b - y) / n."""
    X, y = regression_data(rng, 8)
    model = LinearRegression(optimizer=SGD(lr=0.1))
    model.fit(X, y, epochs=0, verbose=0)  # builds and binds
    w0, b0 = model.linear.weight.numpy()[0].astype(np.float64), float(model.linear.bias.numpy()[0])
    model.fit(X, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    r = X @ w0 + b0 - y
    np.testing.assert_allclose(model.coef_, w0 - 0.1 * 2 * X.T @ r / 8, rtol=1e-5)
    np.testing.assert_allclose(model.intercept_, b0 - 0.1 * 2 * r.mean(), rtol=1e-5)


def test_optimizer_choice_order(rng):
    X, y = regression_data(rng, 8)
    given = Adam(lr=0.05)
    later = SGD(lr=0.5)  # the most recent unbound optimizer, but this model was given one
    m = LinearRegression(optimizer=given)
    m.fit(X, y, epochs=1, verbose=0)
    assert m.optimizer is given
    m2 = LinearRegression().compile(optimizer="adam")
    m2.fit(X, y, epochs=1, verbose=0)
    assert isinstance(m2.optimizer, em.optim.Adam) and m2.optimizer is not later
    m3 = LinearRegression()
    m3.fit(X, y, epochs=1, verbose=0)
    assert m3.optimizer is later
    from ember import keras
    lazy = keras.Sequential([keras.layers.Dense(1)])
    lazy.compile(optimizer=SGD(lr=0.3), loss="mse")  # taken by a model not built yet: not a candidate
    m4 = LinearRegression()  # no unbound optimizer left: SGD(lr=0.01)
    m4.fit(X, y, epochs=1, verbose=0)
    assert type(m4.optimizer) is SGD and m4.optimizer.param_groups[0]["lr"] == 0.01
    lazy.fit(X, y, epochs=1, verbose=0)
    assert lazy.optimizer.param_groups[0]["params"][0] is lazy.layers[0].kernel


def test_multi_output_regression_and_errors(rng):
    X = rng.standard_normal((30, 3)).astype(np.float32)
    Y = X @ rng.standard_normal((3, 2)).astype(np.float32)
    m = LinearRegression(optimizer=Adam(lr=0.1))
    m.fit(X, Y, epochs=150, batch_size=30, verbose=0)
    assert m.predict(X).shape == (30, 2) and np.abs(m.predict(X) - Y).max() < 0.05
    with pytest.raises(ValueError, match=r"\[predict\] X has 4 features"):
        m.predict(np.zeros((2, 4)))
    with pytest.raises(RuntimeError, match=r"call fit"):
        LinearRegression().predict(X)
    with pytest.raises(ValueError, match=r"\[fit\] X has 30 samples but y has 29"):
        LinearRegression().fit(X, Y[:29], verbose=0)


def test_logistic_regression_binary_and_multiclass(rng):
    X = rng.standard_normal((200, 2)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64)
    m = LogisticRegression(optimizer=SGD(lr=0.5))
    m.fit(X, y, epochs=30, batch_size=20, verbose=0)
    p = m.predict(X)
    assert p.shape == (200,) and ((p > 0) & (p < 1)).all()
    z = X @ m.coef_ + m.intercept_
    np.testing.assert_allclose(p, 1 / (1 + np.exp(-z)), rtol=1e-5)
    assert (m.predict_classes(X) == y).mean() > 0.95
    y3 = np.digitize(X[:, 0], [-0.5, 0.5])
    m3 = LogisticRegression(optimizer=Adam(lr=0.05))
    m3.fit(X, y3, epochs=60, batch_size=50, verbose=0)
    p3 = m3.predict(X)
    assert p3.shape == (200, 3) and np.allclose(p3.sum(1), 1, atol=1e-5)
    assert (m3.predict_classes(X) == y3).mean() > 0.9
    with pytest.raises(ValueError, match="class labels"):
        LogisticRegression().fit(X, X[:, 0], verbose=0)


# ---- ember.optim optimizers without parameters --------------------------------------------
def test_unbound_optimizer_binds_and_matches_a_bound_one(rng):
    x = em.tensor(rng.standard_normal((4, 3)).astype(np.float32))
    em.manual_seed(1)
    a = nn.Linear(3, 2)
    em.manual_seed(1)
    b = nn.Linear(3, 2)
    opt_a = SGD(a.parameters(), lr=0.1, momentum=0.9)
    opt_b = SGD(0.1, momentum=0.9)  # a number first is the learning rate
    assert not opt_b.bound and opt_b.param_groups == []
    opt_b.bind(b.parameters())
    for _ in range(3):
        for m, o in ((a, opt_a), (b, opt_b)):
            o.zero_grad()
            (m(x) ** 2).sum().backward()
            o.step()
    np.testing.assert_array_equal(a.weight.numpy(), b.weight.numpy())
    with pytest.raises(RuntimeError, match="already bound"):
        opt_b.bind(a.parameters())


def test_unbound_step_raises_and_compile_binds(rng):
    opt = Adam()
    with pytest.raises(RuntimeError, match=r"\[Adam\] step\(\) on an optimizer without parameters"):
        opt.step()
    model = nn.Linear(3, 1)
    model.compile(optimizer=opt, loss="mse")
    assert opt.bound and len(opt.param_groups[0]["params"]) == 2
    model.fit(rng.standard_normal((8, 3)), rng.standard_normal((8, 1)), epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\[StepLR\] the optimizer has no parameters yet"):
        em.optim.lr_scheduler.StepLR(SGD(lr=0.1), step_size=2)
    with pytest.raises(ValueError, match=r"\[SGD\] invalid learning rate"):
        SGD(-1.0)
    assert em.optim.RMSprop(lr=0.5).defaults["lr"] == 0.5
