// Bindings of the fused recurrent cells and the one-direction sequence layers.
// mode is "rnn_tanh", "rnn_relu", "lstm" or "gru"; optional arrays are None (biases,
// the LSTM's c arrays elsewhere, ws for plain RNNs, the GRU-only dgh arrays). Every array
// is checked against the shapes implied by x / h_prev and the weights before any kernel runs.
#include <string>
#include <vector>

#include "bindings/array.h"
#include "bindings/checked.h"

namespace ember {

namespace {

struct Mode {
  int id;
  int64_t gates;
  bool lstm, gru;
};

Mode parse_mode(const std::string& m, const char* op) {
  if (m == "rnn_tanh") return {kRnnTanh, rnn_gates(kRnnTanh), false, false};
  if (m == "rnn_relu") return {kRnnRelu, rnn_gates(kRnnRelu), false, false};
  if (m == "lstm") return {kRnnLstm, rnn_gates(kRnnLstm), true, false};
  if (m == "gru") return {kRnnGru, rnn_gates(kRnnGru), false, true};
  throw py::value_error(std::string("[") + op + "] unknown mode '" + m + "'; known: rnn_tanh, rnn_relu, lstm, gru");
}

std::string shape_of(const std::vector<int64_t>& s) {
  std::string out = "(";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

// An array of exactly `shape` and ref's dtype; None gives an empty Array when allowed.
Array arg(py::handle obj, const char* op, const char* name, const std::vector<int64_t>& shape, const Array* ref,
          bool writable, bool wanted) {
  if (obj.is_none()) {
    check(!wanted, op, [&] { return "'" + std::string(name) + "' is required here, got None"; });
    return Array{};
  }
  check(wanted, op, [&] { return "'" + std::string(name) + "' must be None for this mode"; });
  Array a = as_array(obj, op, name, writable);
  check(a.shape == shape, op,
        [&] { return "'" + std::string(name) + "' " + shape_str(a) + " must be " + shape_of(shape); });
  if (ref) check_same_dtype(*ref, a, op);
  return a;
}

// The arguments rnn_forward and rnn_backward share, checked: x (S, N, I), h0 (N, H), c0 (N, H)
// for LSTMs, w_ih (G*H, I) and w_hh (G*H, H) with G gates.
struct Sequence {
  Mode md;
  Array x, h0, c0, wih, whh;
  int64_t S, N, I, H, GH;
};

Sequence sequence_args(const std::string& mode, py::handle x_, py::handle h0_, py::handle c0_, py::handle wih_,
                       py::handle whh_, const char* op) {
  Sequence q;
  q.md = parse_mode(mode, op);
  q.x = as_array(x_, op, "x"), q.h0 = as_array(h0_, op, "h0");
  check_ndim(q.x, 3, op);
  check_ndim(q.h0, 2, op);
  q.S = q.x.dim(0), q.N = q.x.dim(1), q.I = q.x.dim(2), q.H = q.h0.dim(1);
  q.GH = checked_mul(q.md.gates, q.H, op, "gates * hidden size");
  check(q.h0.dim(0) == q.N, op,
        [&] { return "'h0' " + shape_str(q.h0) + " does not match batch of 'x' " + shape_str(q.x); });
  check_same_dtype(q.x, q.h0, op);
  q.c0 = arg(c0_, op, "c0", {q.N, q.H}, &q.x, false, q.md.lstm);
  q.wih = arg(wih_, op, "w_ih", {q.GH, q.I}, &q.x, false, true);
  q.whh = arg(whh_, op, "w_hh", {q.GH, q.H}, &q.x, false, true);
  return q;
}

}  // namespace

void bind_rnn(py::module_& m) {
  m.def("rnn_cell_forward", [](const std::string& mode_, py::handle gx_, py::handle gh_, py::handle bi_,
                               py::handle bh_, py::handle hp_, py::handle cp_, py::handle h_, py::handle c_,
                               py::handle ws_) {
    const char* op = "rnn_cell_forward";
    const Mode md = parse_mode(mode_, op);
    Array hp = as_array(hp_, op, "h_prev");
    check_ndim(hp, 2, op);
    const int64_t N = hp.dim(0), H = hp.dim(1), GH = checked_mul(md.gates, H, op, "gates * hidden size");
    Array gx = arg(gx_, op, "gx", {N, GH}, &hp, false, true), gh = arg(gh_, op, "gh", {N, GH}, &hp, false, true);
    Array bi = arg(bi_, op, "b_ih", {GH}, &hp, false, !bi_.is_none());
    Array bh = arg(bh_, op, "b_hh", {GH}, &hp, false, !bh_.is_none());
    Array cp = arg(cp_, op, "c_prev", {N, H}, &hp, false, md.lstm);
    Array h = arg(h_, op, "h", {N, H}, &hp, true, true), c = arg(c_, op, "c", {N, H}, &hp, true, md.lstm);
    Array ws = arg(ws_, op, "ws", {N, checked_mul(4, H, op, "workspace width")}, &hp, true, md.lstm || md.gru);
    dispatch_float(hp, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::rnn_cell_forward(RnnShape{md.id, N, H, 1, 0, false},
                             RnnCellForward<T>{gx.data<T>(), gh.data<T>(), bi.data<T>(), bh.data<T>(), hp.data<T>(),
                                               cp.data<T>(), h.data<T>(), c.data<T>(), ws.data<T>()});
    });
  });

  m.def("rnn_cell_backward", [](const std::string& mode_, py::handle ws_, py::handle hp_, py::handle cp_,
                                py::handle c_, py::handle h_, py::handle g1_, py::handle g2_, py::handle gc_,
                                py::handle dgx_, py::handle dgh_, py::handle dhp_, py::handle dcp_) {
    const char* op = "rnn_cell_backward";
    const Mode md = parse_mode(mode_, op);
    Array h = as_array(h_, op, "h");
    check_ndim(h, 2, op);
    const int64_t N = h.dim(0), H = h.dim(1), GH = checked_mul(md.gates, H, op, "gates * hidden size");
    Array ws = arg(ws_, op, "ws", {N, checked_mul(4, H, op, "workspace width")}, &h, false, md.lstm || md.gru);
    Array hp = arg(hp_, op, "h_prev", {N, H}, &h, false, md.gru);
    Array cp = arg(cp_, op, "c_prev", {N, H}, &h, false, md.lstm), c = arg(c_, op, "c", {N, H}, &h, false, md.lstm);
    Array g1 = arg(g1_, op, "grad_h", {N, H}, &h, false, true);
    Array g2 = arg(g2_, op, "grad_h2", {N, H}, &h, false, !g2_.is_none());
    Array gc = arg(gc_, op, "grad_c", {N, H}, &h, false, md.lstm && !gc_.is_none());
    Array dgx = arg(dgx_, op, "grad_gx", {N, GH}, &h, true, true);
    Array dgh = arg(dgh_, op, "grad_gh", {N, GH}, &h, true, md.gru);
    Array dhp = arg(dhp_, op, "grad_h_prev", {N, H}, &h, true, md.gru);
    Array dcp = arg(dcp_, op, "grad_c_prev", {N, H}, &h, true, md.lstm);
    dispatch_float(h, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::rnn_cell_backward(RnnShape{md.id, N, H, 1, 0, false},
                              RnnCellBackward<T>{ws.data<T>(), hp.data<T>(), cp.data<T>(), c.data<T>(), h.data<T>(),
                                                 g1.data<T>(), g2.data<T>(), gc.data<T>(), dgx.data<T>(),
                                                 dgh.data<T>(), dhp.data<T>(), dcp.data<T>()});
    });
  });

  m.def("rnn_forward", [](const std::string& mode_, bool reverse, py::handle x_, py::handle h0_, py::handle c0_,
                          py::handle wih_, py::handle whh_, py::handle bi_, py::handle bh_, py::handle y_,
                          py::handle cs_, py::handle ws_, py::handle gxb_, py::handle ghb_) {
    const char* op = "rnn_forward";
    const Sequence q = sequence_args(mode_, x_, h0_, c0_, wih_, whh_, op);
    const Mode md = q.md;
    const Array &x = q.x, &h0 = q.h0, &c0 = q.c0, &wih = q.wih, &whh = q.whh;
    const int64_t S = q.S, N = q.N, I = q.I, H = q.H, GH = q.GH;
    Array bi = arg(bi_, op, "b_ih", {GH}, &x, false, !bi_.is_none());
    Array bh = arg(bh_, op, "b_hh", {GH}, &x, false, !bh_.is_none());
    Array y = arg(y_, op, "y", {S, N, H}, &x, true, true), cs = arg(cs_, op, "cs", {S, N, H}, &x, true, md.lstm);
    Array ws = arg(ws_, op, "ws", {S, N, checked_mul(4, H, op, "workspace width")}, &x, true, md.lstm || md.gru);
    Array gxb = arg(gxb_, op, "gx_buf", {S, N, GH}, &x, true, true), ghb = arg(ghb_, op, "gh_buf", {N, GH}, &x, true, true);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::rnn_forward(RnnShape{md.id, N, H, S, I, reverse},
                        RnnForward<T>{x.data<T>(), h0.data<T>(), c0.data<T>(), wih.data<T>(), whh.data<T>(),
                                      bi.data<T>(), bh.data<T>(), y.data<T>(), cs.data<T>(), ws.data<T>(),
                                      gxb.data<T>(), ghb.data<T>()});
    });
  });

  m.def("rnn_backward", [](const std::string& mode_, bool reverse, py::handle x_, py::handle h0_, py::handle c0_,
                           py::handle wih_, py::handle whh_, py::handle y_, py::handle cs_, py::handle ws_,
                           py::handle gy_, py::handle gcn_, py::handle dx_, py::handle dh0_, py::handle dc0_,
                           py::handle dwih_, py::handle dwhh_, py::handle dbi_, py::handle dbh_, py::handle dgxb_,
                           py::handle dghb_) {
    const char* op = "rnn_backward";
    const Sequence q = sequence_args(mode_, x_, h0_, c0_, wih_, whh_, op);
    const Mode md = q.md;
    const Array &x = q.x, &h0 = q.h0, &c0 = q.c0, &wih = q.wih, &whh = q.whh;
    const int64_t S = q.S, N = q.N, I = q.I, H = q.H, GH = q.GH;
    Array y = arg(y_, op, "y", {S, N, H}, &x, false, true), cs = arg(cs_, op, "cs", {S, N, H}, &x, false, md.lstm);
    Array ws = arg(ws_, op, "ws", {S, N, checked_mul(4, H, op, "workspace width")}, &x, false, md.lstm || md.gru);
    Array gy = arg(gy_, op, "grad_y", {S, N, H}, &x, false, true);
    Array gcn = arg(gcn_, op, "grad_cn", {N, H}, &x, false, md.lstm && !gcn_.is_none());
    Array dx = arg(dx_, op, "grad_x", {S, N, I}, &x, true, true), dh0 = arg(dh0_, op, "grad_h0", {N, H}, &x, true, true);
    Array dc0 = arg(dc0_, op, "grad_c0", {N, H}, &x, true, md.lstm);
    Array dwih = arg(dwih_, op, "grad_w_ih", {GH, I}, &x, true, true);
    Array dwhh = arg(dwhh_, op, "grad_w_hh", {GH, H}, &x, true, true);
    Array dbi = arg(dbi_, op, "grad_b_ih", {GH}, &x, true, true), dbh = arg(dbh_, op, "grad_b_hh", {GH}, &x, true, true);
    Array dgxb = arg(dgxb_, op, "dgx_buf", {S, N, GH}, &x, true, true);
    Array dghb = arg(dghb_, op, "dgh_buf", {S, N, GH}, &x, true, md.gru);
    dispatch_float(x, op, [&](auto t) {
      using T = decltype(t);
      py::gil_scoped_release nogil;
      kern::rnn_backward(RnnShape{md.id, N, H, S, I, reverse},
                         RnnBackward<T>{x.data<T>(), h0.data<T>(), c0.data<T>(), wih.data<T>(), whh.data<T>(),
                                        y.data<T>(), cs.data<T>(), ws.data<T>(), gy.data<T>(), gcn.data<T>(),
                                        dx.data<T>(), dh0.data<T>(), dc0.data<T>(), dwih.data<T>(), dwhh.data<T>(),
                                        dbi.data<T>(), dbh.data<T>(), dgxb.data<T>(), dghb.data<T>()});
    });
  });
}

}  // namespace ember
