"""L-BFGS, step for step as PyTorch's: the two-loop recursion over one flat vector of all the
parameters, a fixed step or a strong-Wolfe line search with cubic interpolation.

The vectors are the device's arrays (numpy or cupy) and the scalars Python floats: this is glue
over flat vectors, as torch.optim.LBFGS is Python over tensors.
"""
import math
import numbers

import numpy as np

from .optimizer import Optimizer, check_hyper


def _cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x1, f1, g1) and (x2, f2, g2), clamped to bounds
    (default: between x1 and x2); the bounds' midpoint when the cubic has no minimum."""
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square < 0:
        return (xmin_bound + xmax_bound) / 2.0
    d2 = math.sqrt(d2_square)
    if x1 <= x2:
        min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(min_pos, xmin_bound), xmax_bound)


class _Bracket:
    """The line search's points: steps t, losses f, flat gradients g, slopes gtd = g . d."""

    def __init__(self, *points):
        self.t = [p[0] for p in points]
        self.f = [p[1] for p in points]
        self.g = [p[2] for p in points]
        self.gtd = [p[3] for p in points]

    def set(self, i, t, f, g, gtd):
        self.t[i], self.f[i], self.g[i], self.gtd[i] = t, f, g, gtd

    def order(self):
        """(low, high): the index of the lower loss first."""
        return (0, 1) if self.f[0] <= self.f[-1] else (1, 0)


def _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls):
    """Steps t outwards until an interval holds a strong-Wolfe point, or t is one.
    Returns (bracket, done, ls_iter, evals)."""
    f_new, g_new = obj_func(x, t, d)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    ls_iter = 0
    while ls_iter < max_ls:
        # the three tests in torch's order (the second before the third)
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            return _Bracket((t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)), False, ls_iter, evals
        if abs(gtd_new) <= -c2 * gtd:
            return _Bracket((t, f_new, g_new, gtd_new)), True, ls_iter, evals
        if gtd_new >= 0:
            return _Bracket((t_prev, f_prev, g_prev, gtd_prev), (t, f_new, g_new, gtd_new)), False, ls_iter, evals
        # extrapolate from the last two points, at least 1% past t and at most 10 t
        bounds = (t + 0.01 * (t - t_prev), t * 10)
        t_next = _cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=bounds)
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
    # out of evaluations: the bracket [0, t]; the zoom does not run, so its slopes are never read
    return _Bracket((0.0, f, g, gtd), (t, f_new, g_new, gtd_new)), False, ls_iter, evals


def _zoom_step(b, insuf_progress):
    """The zoom's next trial step inside bracket b: the cubic's minimiser, moved to 10% of the
    bracket from its nearer end when it falls too close to an end twice running (or beyond one).
    Returns (t, insuf_progress)."""
    t = _cubic_interpolate(b.t[0], b.f[0], b.gtd[0], b.t[1], b.f[1], b.gtd[1])
    hi, lo = max(b.t), min(b.t)
    eps = 0.1 * (hi - lo)
    if min(hi - t, t - lo) >= eps:
        return t, False
    if insuf_progress or t >= hi or t <= lo:
        return (hi - eps if abs(t - hi) < abs(t - lo) else lo + eps), False
    return t, True


def _strong_wolfe(obj_func, x, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """torch.optim.lbfgs._strong_wolfe: a step t along d satisfying the strong Wolfe conditions
    (Nocedal & Wright, algorithms 3.5 and 3.6). Returns (f_new, g_new, t, evals)."""
    d_norm = float(abs(d).max())
    b, done, ls_iter, evals = _bracket_phase(obj_func, x, t, d, f, g, gtd, c1, c2, max_ls)
    insuf_progress = False
    low, high = b.order()
    while not done and ls_iter < max_ls:
        if abs(b.t[1] - b.t[0]) * d_norm < tolerance_change:
            break
        t, insuf_progress = _zoom_step(b, insuf_progress)
        f_new, g_new = obj_func(x, t, d)
        evals += 1
        gtd_new = float(g_new @ d)
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= b.f[low]:
            b.set(high, t, f_new, g_new, gtd_new)  # not sufficient decrease: the new high end
            low, high = b.order()
            continue
        if abs(gtd_new) <= -c2 * gtd:
            done = True
        elif gtd_new * (b.t[high] - b.t[low]) >= 0:
            b.set(high, b.t[low], b.f[low], b.g[low], b.gtd[low])  # the old low becomes the high end
        b.set(low, t, f_new, g_new, gtd_new)
    return b.f[low], b.g[low], b.t[low], evals


class LBFGS(Optimizer):
    """Limited-memory BFGS over all the parameters as one flat vector; step(closure) runs up to
    max_iter iterations, each a step along the two-loop recursion's direction, of fixed length
    lr or found by a strong-Wolfe line search (line_search_fn="strong_wolfe").

    Args:
        lr, max_iter (iterations per step), max_eval (closure calls per step, default
        max_iter * 5 // 4), tolerance_grad (stop when max |g| <= it), tolerance_change (stop when
        the step or the loss change is below it), history_size (pairs kept), line_search_fn.
    Example:
        opt = em.optim.LBFGS(model.parameters(), line_search_fn="strong_wolfe")
        def closure():
            opt.zero_grad()
            loss = loss_fn(model(x), y)
            loss.backward()
            return loss
        opt.step(closure)
    """

    def __init__(self, params=None, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        super().__init__(params, dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                                      tolerance_change=tolerance_change, history_size=history_size,
                                      line_search_fn=line_search_fn))

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    def _add_params(self, params):
        super()._add_params(params)
        self._check_params()

    def add_param_group(self, group):
        if self.param_groups:
            raise ValueError("[LBFGS] LBFGS doesn't support per-parameter options (parameter groups): it has one "
                             "group already")
        super().add_param_group(group)

    def _check_group(self, group):
        n = "LBFGS"
        check_hyper(n, group["lr"], group["lr"] >= 0, "learning rate")
        for k in ("max_iter", "max_eval", "history_size"):
            v = group[k]
            ok = isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1
            check_hyper(n, v, ok, f"{k} (an int >= 1)")
        check_hyper(n, group["tolerance_grad"], group["tolerance_grad"] >= 0, "tolerance_grad")
        check_hyper(n, group["tolerance_change"], group["tolerance_change"] >= 0, "tolerance_change")
        ls = group["line_search_fn"]
        check_hyper(n, ls, ls is None or ls == "strong_wolfe", "line_search_fn (None or 'strong_wolfe')")

    def _check_params(self):
        p0 = self._params[0]
        for p in self._params:
            if p.dtype != p0.dtype or p._backend is not p0._backend:
                raise TypeError(f"[LBFGS] all parameters must share one dtype and device: got {p0.dtype} on "
                                f"{p0.device} and {p.dtype} on {p.device}")

    # ---- the flat vector ------------------------------------------------------------
    def _xp(self):
        return self._params[0]._backend.xp

    def _gather_flat_grad(self):
        xp, dtype = self._xp(), self._params[0].dtype
        return xp.concatenate([xp.zeros(p.numel(), dtype=dtype) if p.grad is None
                               else p.grad._data.reshape(-1).astype(dtype, copy=False) for p in self._params])

    def _add_grad(self, step_size, update):
        offset = 0
        for p in self._params:
            n = p.numel()
            p._data += p.dtype.type(step_size) * update[offset:offset + n].reshape(p.shape)
            p._bump()
            offset += n

    def _clone_param(self):
        return [p._data.copy() for p in self._params]

    def _set_param(self, params_data):
        for p, a in zip(self._params, params_data):
            p._data[...] = a
            p._bump()

    def _directional_evaluate(self, closure, x, t, d):
        self._add_grad(t, d)
        loss = float(self._call(closure))
        flat_grad = self._gather_flat_grad()
        self._set_param(x)
        return loss, flat_grad

    @staticmethod
    def _direction(flat_grad, st, history_size):
        """The two-loop recursion: -H g from the stored (y, s) pairs, after adding the newest
        pair when its curvature y.s is positive (> 1e-10). Updates st's history in place."""
        y = flat_grad - st["prev_flat_grad"]
        s = st["d"] * st["t"]
        ys = float(y @ s)
        if ys > 1e-10:
            if len(st["old_dirs"]) == history_size:
                for k in ("old_dirs", "old_stps", "ro"):
                    st[k].pop(0)
            st["old_dirs"].append(y)
            st["old_stps"].append(s)
            st["ro"].append(1.0 / ys)
            st["H_diag"] = ys / float(y @ y)
        dirs, stps, ro = st["old_dirs"], st["old_stps"], st["ro"]
        al = [0.0] * len(dirs)
        q = -flat_grad
        for i in range(len(dirs) - 1, -1, -1):
            al[i] = float(stps[i] @ q) * ro[i]
            q -= al[i] * dirs[i]
        r = q * st["H_diag"]
        for i in range(len(dirs)):
            be_i = float(dirs[i] @ r) * ro[i]
            r += (al[i] - be_i) * stps[i]
        return r

    # ---- the step -------------------------------------------------------------------
    def step(self, closure=None):
        """Runs up to max_iter L-BFGS iterations; closure() clears the gradients, computes the loss,
        calls backward and returns the loss. Returns the loss of the first closure call."""
        if closure is None or not callable(closure):
            raise TypeError("[LBFGS] step() needs a closure that re-evaluates the model and returns the loss, "
                            f"got {type(closure).__name__}")
        if not self.bound:
            return self._call(closure)  # raises: nothing to optimise yet
        group = self.param_groups[0]
        st = self.state.setdefault(id(self._params[0]), {})
        st.setdefault("func_evals", 0)
        st.setdefault("n_iter", 0)
        orig_loss = self._call(closure)
        st["func_evals"] += 1
        flat_grad = self._gather_flat_grad()
        if float(abs(flat_grad).max()) <= group["tolerance_grad"]:
            return orig_loss
        self._iterate(closure, group, st, float(orig_loss), flat_grad)
        return orig_loss

    def _iterate(self, closure, group, st, loss, flat_grad):
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        current_evals, n_iter = 1, 0
        while n_iter < max_iter:
            n_iter += 1
            st["n_iter"] += 1
            if st["n_iter"] == 1:
                st.update(d=-flat_grad, old_dirs=[], old_stps=[], ro=[], H_diag=1.0)
            else:
                st["d"] = self._direction(flat_grad, st, group["history_size"])
            d = st["d"]
            st["prev_flat_grad"], st["prev_loss"] = flat_grad.copy(), loss
            # the first step ever is scaled down by the gradient's l1 norm
            t = min(1.0, 1.0 / float(abs(flat_grad).sum())) * lr if st["n_iter"] == 1 else lr
            st["t"] = t
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:
                break
            evals, opt_cond = 0, False
            if group["line_search_fn"] is not None:
                x_init = self._clone_param()

                def obj_func(x, t, d):
                    return self._directional_evaluate(closure, x, t, d)
                loss, flat_grad, t, evals = _strong_wolfe(obj_func, x_init, t, d, loss, flat_grad, gtd,
                                                          max_ls=max_eval - current_evals)
                st["t"] = t
                self._add_grad(t, d)
                opt_cond = float(abs(flat_grad).max()) <= tol_grad
            else:
                self._add_grad(t, d)
                if n_iter != max_iter:  # the last iteration's loss is never looked at
                    loss = float(self._call(closure))
                    flat_grad = self._gather_flat_grad()
                    opt_cond = float(abs(flat_grad).max()) <= tol_grad
                    evals = 1
            current_evals += evals
            st["func_evals"] += evals
            if n_iter == max_iter or current_evals >= max_eval or opt_cond:
                break
            if float(abs(d * t).max()) <= tol_change or abs(loss - st["prev_loss"]) < tol_change:
                break

    # ---- state_dict: the history lists travel as host arrays --------------------------
    def state_dict(self):
        sd = super().state_dict()
        be = self._params[0]._backend
        for s in sd["state"].values():
            for k in ("old_dirs", "old_stps"):
                if k in s:
                    s[k] = [be.to_host(a).copy() for a in s[k]]
            if "ro" in s:
                s["ro"] = [float(r) for r in s["ro"]]
        return sd

    def load_state_dict(self, state_dict):
        super().load_state_dict(state_dict)
        be = self._params[0]._backend
        for s in self.state.values():
            for k in ("old_dirs", "old_stps"):
                if k in s:
                    s[k] = [be.from_host(np.array(a)) for a in s[k]]
            if "ro" in s:
                s["ro"] = [float(r) for r in s["ro"]]
            for k in ("t", "H_diag", "prev_loss"):
                if k in s:
                    s[k] = float(s[k])
