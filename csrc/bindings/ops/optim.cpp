// Bindings of the fused optimizer updates. Every array is one parameter's
// flat data: p (written), g, and the optimizer's state arrays (written), all of
// p's shape and dtype. Optional state is None when its option is off. The hyperparameters
// are checked as the optimizers check them (PyTorch's ranges; NaN fails every one).
#include "bindings/array.h"

namespace ember {

namespace {

// The optional state argument `h` as an array shaped like p, or null for None.
template <typename T>
T* optional_state(py::handle h, const Array& p, const char* op, const char* name) {
  if (h.is_none()) return nullptr;
  Array a = as_array(h, op, name, true);
  check_same_shape(p, a, op);
  check_same_dtype(p, a, op);
  return a.data<T>();
}

struct Params {
  Array p, g;
};

Params params(py::handle p_, py::handle g_, const char* op) {
  Params r{as_array(p_, op, "param", true), as_array(g_, op, "grad")};
  check_same_shape(r.p, r.g, op);
  check_same_dtype(r.p, r.g, op);
  return r;
}

void check_hyper(bool ok, const char* op, const char* what, double value) {
  if (!ok) check(false, op, std::string("invalid ") + what + " " + std::to_string(value));
}

}  // namespace

void bind_optim(py::module_& m) {
  m.def("sgd_step", [](py::handle p_, py::handle g_, py::handle buf_, double lr, double momentum, double dampening,
                       double weight_decay, bool nesterov, bool maximize, bool first_step) {
    const char* op = "sgd_step";
    Params a = params(p_, g_, op);
    check_hyper(lr >= 0, op, "lr", lr);
    check_hyper(momentum >= 0, op, "momentum", momentum);
    check_hyper(weight_decay >= 0, op, "weight_decay", weight_decay);
    check(!buf_.is_none() || momentum == 0, op, "momentum > 0 needs a momentum buffer");
    dispatch_float(a.p, op, [&](auto t) {
      using T = decltype(t);
      T* buf = optional_state<T>(buf_, a.p, op, "momentum_buffer");
      py::gil_scoped_release nogil;
      kern::sgd_step(a.p.data<T>(), a.g.data<T>(), buf, a.p.numel(), lr, momentum, dampening, weight_decay,
                     nesterov, maximize, first_step);
    });
  });
  m.def("adam_step", [](py::handle p_, py::handle g_, py::handle m_, py::handle v_, py::handle vmax_, int64_t step,
                        double lr, double beta1, double beta2, double eps, double weight_decay, bool decoupled,
                        bool maximize) {
    const char* op = "adam_step";
    Params a = params(p_, g_, op);
    check(step >= 1, op, [&] { return "step must be >= 1, got " + std::to_string(step); });
    check_hyper(beta1 >= 0 && beta1 < 1, op, "beta1", beta1);
    check_hyper(beta2 >= 0 && beta2 < 1, op, "beta2", beta2);
    check_hyper(lr >= 0, op, "lr", lr);
    check_hyper(eps >= 0, op, "eps", eps);
    check_hyper(weight_decay >= 0, op, "weight_decay", weight_decay);
    dispatch_float(a.p, op, [&](auto t) {
      using T = decltype(t);
      T* m = optional_state<T>(m_, a.p, op, "exp_avg");
      T* v = optional_state<T>(v_, a.p, op, "exp_avg_sq");
      T* vmax = optional_state<T>(vmax_, a.p, op, "max_exp_avg_sq");
      // (on None, not on null: an empty CuPy array's pointer is null)
      check(!m_.is_none() && !v_.is_none(), op, "exp_avg and exp_avg_sq are required");
      py::gil_scoped_release nogil;
      kern::adam_step(a.p.data<T>(), a.g.data<T>(), m, v, vmax, a.p.numel(), step, lr, beta1, beta2, eps,
                      weight_decay, decoupled, maximize);
    });
  });
  m.def("rmsprop_step", [](py::handle p_, py::handle g_, py::handle sq_, py::handle buf_, py::handle avg_, double lr,
                           double alpha, double eps, double weight_decay, double momentum, bool maximize) {
    const char* op = "rmsprop_step";
    Params a = params(p_, g_, op);
    check_hyper(lr >= 0, op, "lr", lr);
    check_hyper(alpha >= 0 && alpha <= 1, op, "alpha", alpha);  // a negative square average is NaN
    check_hyper(eps >= 0, op, "eps", eps);
    check_hyper(weight_decay >= 0, op, "weight_decay", weight_decay);
    check_hyper(momentum >= 0, op, "momentum", momentum);
    check(!buf_.is_none() || momentum == 0, op, "momentum > 0 needs a momentum buffer");
    dispatch_float(a.p, op, [&](auto t) {
      using T = decltype(t);
      T* sq = optional_state<T>(sq_, a.p, op, "square_avg");
      T* buf = optional_state<T>(buf_, a.p, op, "momentum_buffer");
      T* avg = optional_state<T>(avg_, a.p, op, "grad_avg");
      check(!sq_.is_none(), op, "square_avg is required");  // (an empty CuPy array has a null pointer)
      py::gil_scoped_release nogil;
      kern::rmsprop_step(a.p.data<T>(), a.g.data<T>(), sq, buf, avg, a.p.numel(), lr, alpha, eps, weight_decay,
                         momentum, maximize);
    });
  });
  m.def("adagrad_step", [](py::handle p_, py::handle g_, py::handle sum_, int64_t step, double lr, double lr_decay,
                           double weight_decay, double eps, bool maximize) {
    const char* op = "adagrad_step";
    Params a = params(p_, g_, op);
    check_hyper(lr >= 0, op, "lr", lr);
    check_hyper(lr_decay >= 0, op, "lr_decay", lr_decay);
    check_hyper(eps >= 0, op, "eps", eps);
    check_hyper(weight_decay >= 0, op, "weight_decay", weight_decay);
    check(step >= 1, op, [&] { return "step must be >= 1, got " + std::to_string(step); });
    dispatch_float(a.p, op, [&](auto t) {
      using T = decltype(t);
      T* sum = optional_state<T>(sum_, a.p, op, "sum");
      check(!sum_.is_none(), op, "sum is required");
      py::gil_scoped_release nogil;
      kern::adagrad_step(a.p.data<T>(), a.g.data<T>(), sum, a.p.numel(), step, lr, lr_decay, weight_decay, eps,
                         maximize);
    });
  });
  m.def("adadelta_step", [](py::handle p_, py::handle g_, py::handle sq_, py::handle acc_, double lr, double rho,
                            double eps, double weight_decay, bool maximize) {
    const char* op = "adadelta_step";
    Params a = params(p_, g_, op);
    check_hyper(lr >= 0, op, "lr", lr);
    check_hyper(rho >= 0 && rho <= 1, op, "rho", rho);
    check_hyper(eps >= 0, op, "eps", eps);
    check_hyper(weight_decay >= 0, op, "weight_decay", weight_decay);
    dispatch_float(a.p, op, [&](auto t) {
      using T = decltype(t);
      T* sq = optional_state<T>(sq_, a.p, op, "square_avg");
      T* acc = optional_state<T>(acc_, a.p, op, "acc_delta");
      check(!sq_.is_none() && !acc_.is_none(), op, "square_avg and acc_delta are required");
      py::gil_scoped_release nogil;
      kern::adadelta_step(a.p.data<T>(), a.g.data<T>(), sq, acc, a.p.numel(), lr, rho, eps, weight_decay, maximize);
    });
  });
}

}  // namespace ember
