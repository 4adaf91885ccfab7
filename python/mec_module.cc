// The Python module `mec` (its C++ part, `mec._mec`): libmec's plans over
// NumPy arrays. python/mec/__init__.py wraps it with the documented
// functions; docs/python.md describes the module. Tensors are float32,
// NCHW (PyTorch's order) or NHWC, copied into and out of the library's
// NHWC; weights OIHW (PyTorch's (out, in/groups, kh, kw)), read in place
// when C-contiguous. Every library error becomes a Python exception carrying
// last_error(): ValueError (invalid argument), NotImplementedError
// (unsupported), mec.WorkspaceError (over the workspace limit),
// MemoryError, RuntimeError (backend). AddressPlan serves mec.torch: a plan
// over raw addresses (tensor.data_ptr()), so that one build serves every
// torch version without compiling against torch's C++ API.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mec/mec.h"

namespace py = pybind11;

namespace {

// C-contiguous float32 (ensure() copies other strides).
using FloatArray = py::array_t<float, py::array::c_style | py::array::forcecast>;

PyObject* workspace_error = nullptr;

[[noreturn]] void raise(mec::Status st) {
  const std::string message = mec::last_error();
  switch (st) {
    case mec::Status::kInvalidArgument:
      throw py::value_error(message);
    case mec::Status::kUnsupported:
      PyErr_SetString(PyExc_NotImplementedError, message.c_str());
      throw py::error_already_set();
    case mec::Status::kInsufficientWorkspace:
      PyErr_SetString(workspace_error, message.c_str());
      throw py::error_already_set();
    case mec::Status::kOutOfMemory:
      PyErr_SetString(PyExc_MemoryError, message.c_str());
      throw py::error_already_set();
    default:
      throw std::runtime_error(message);
  }
}

void check(mec::Status st) {
  if (st != mec::Status::kSuccess) raise(st);
}

// A float32 array of the given rank, C-contiguous, or TypeError/ValueError
// naming the argument.
FloatArray float_array(const py::array& a, const char* name, int rank) {
  if (!a.dtype().is(py::dtype::of<float>())) {
    throw py::type_error(std::string(name) + " must be float32, got " +
                         std::string(py::str(a.dtype())));
  }
  if (a.ndim() != rank) {
    throw py::value_error(std::string(name) + " must have " + std::to_string(rank) +
                          " dimensions, got " + std::to_string(a.ndim()));
  }
  return FloatArray::ensure(a);
}

// The plan's settings as Python gives them.
struct Settings {
  std::vector<int64_t> stride{1, 1}, dilation{1, 1}, padding{0, 0, 0, 0};  // top bottom left right
  int64_t groups = 1;
  std::string algo = "auto", layout = "NCHW", auto_mode = "model";
  int threads = 0;
  py::object workspace_limit = py::none();
};

mec::Conv2dDesc make_desc(const std::vector<int64_t>& input, const std::vector<int64_t>& weight,
                          const Settings& s) {
  if (input.size() != 4 || weight.size() != 4) {
    throw py::value_error("input and weight shapes must have 4 dimensions");
  }
  const bool nchw = s.layout == "NCHW";
  if (!nchw && s.layout != "NHWC") throw py::value_error("layout must be 'NCHW' or 'NHWC'");
  mec::Conv2dDesc d;
  d.n = input[0];
  d.c = nchw ? input[1] : input[3];
  d.h = nchw ? input[2] : input[1];
  d.w = nchw ? input[3] : input[2];
  d.k = weight[0];
  d.r = weight[2];
  d.s = weight[3];
  d.groups = s.groups;
  if (weight[1] * s.groups != d.c) {
    throw py::value_error("weight's input channels " + std::to_string(weight[1]) + " x groups " +
                          std::to_string(s.groups) + " != input channels " + std::to_string(d.c));
  }
  d.stride_h = s.stride[0];
  d.stride_w = s.stride[1];
  d.dilation_h = s.dilation[0];
  d.dilation_w = s.dilation[1];
  d.pad_top = s.padding[0];
  d.pad_bottom = s.padding[1];
  d.pad_left = s.padding[2];
  d.pad_right = s.padding[3];
  d.filter_layout = mec::FilterLayout::kOIHW;
  return d;
}

mec::Context make_context(const Settings& s) {
  mec::Context ctx = mec::Context::cpu(s.threads);
  if (!s.workspace_limit.is_none()) ctx.set_workspace_limit(s.workspace_limit.cast<size_t>());
  if (s.auto_mode != "model" && s.auto_mode != "measure") {
    throw py::value_error("auto_mode must be 'model' or 'measure'");
  }
  ctx.set_auto_mode(s.auto_mode == "measure" ? mec::AutoMode::kMeasure : mec::AutoMode::kModel);
  return ctx;
}

// A plan of one pass over fixed shapes; its workspace is its own.
class Plan {
 public:
  Plan(const std::vector<int64_t>& input, const std::vector<int64_t>& weight,
       const std::string& pass, const Settings& s)
      : settings_(s), desc_(make_desc(input, weight, s)), input_(input), weight_(weight) {
    mec::Algorithm algorithm;
    if (!mec::parse_algorithm(s.algo.c_str(), &algorithm)) {
      throw py::value_error("unknown algorithm '" + s.algo + "'");
    }
    mec::Pass p;
    if (!mec::parse_pass(pass.c_str(), &p)) {
      throw py::value_error("pass must be 'fwd', 'bwd_data' or 'bwd_weights'");
    }
    check(mec::Conv2dPlan::create(desc_, p, algorithm, make_context(s), &plan_));
    workspace_.resize(plan_->workspace_bytes());
  }

  size_t workspace_bytes() const { return plan_->workspace_bytes(); }
  std::string algorithm() const { return mec::algorithm_name(plan_->algorithm()); }
  std::string variant() const { return plan_->variant(); }
  std::string pass() const { return mec::pass_name(plan_->pass()); }

  // Forward: dst from x, w (and bias).
  py::array_t<float> forward(const py::array& x, const py::array& w, const py::object& bias) {
    require(Pass::kFwd);
    std::vector<float> src = to_nhwc(x, "input");
    const FloatArray weights = weights_of(w);
    std::vector<float> b;
    if (!bias.is_none()) {
      const FloatArray ba = float_array(bias.cast<py::array>(), "bias", 1);
      if (ba.shape(0) != desc_.k) throw py::value_error("bias must have k values");
      b.assign(ba.data(), ba.data() + desc_.k);
    }
    std::vector<float> dst(size_t(desc_.dst_elems()));
    {
      py::gil_scoped_release release;
      check(plan_->run(src.data(), weights.data(), b.empty() ? nullptr : b.data(), dst.data(),
                       workspace_.data(), workspace_.size()));
    }
    return from_nhwc(dst, desc_.n, desc_.p(), desc_.q(), desc_.k);
  }

  // Backward data: the input's gradient from dy and w.
  py::array_t<float> backward_data(const py::array& dy, const py::array& w) {
    require(Pass::kBwdData);
    std::vector<float> ddst = to_nhwc(dy, "grad_output", desc_.p(), desc_.q(), desc_.k);
    const FloatArray weights = weights_of(w);
    std::vector<float> dsrc(size_t(desc_.src_elems()));
    {
      py::gil_scoped_release release;
      check(plan_->run_backward_data(ddst.data(), weights.data(), dsrc.data(), workspace_.data(),
                                     workspace_.size()));
    }
    return from_nhwc(dsrc, desc_.n, desc_.h, desc_.w, desc_.c);
  }

  // Backward weights: (grad_weight OIHW, grad_bias) from x and dy.
  py::tuple backward_weights(const py::array& x, const py::array& dy) {
    require(Pass::kBwdWeights);
    std::vector<float> src = to_nhwc(x, "input");
    std::vector<float> ddst = to_nhwc(dy, "grad_output", desc_.p(), desc_.q(), desc_.k);
    py::array_t<float> dw(std::vector<py::ssize_t>(weight_.begin(), weight_.end()));
    py::array_t<float> db(std::vector<py::ssize_t>{py::ssize_t(desc_.k)});
    float* dw_data = dw.mutable_data();
    float* db_data = db.mutable_data();
    {
      py::gil_scoped_release release;
      check(plan_->run_backward_weights(src.data(), ddst.data(), dw_data, db_data,
                                        workspace_.data(), workspace_.size()));
    }
    return py::make_tuple(dw, db);
  }

 private:
  enum class Pass { kFwd, kBwdData, kBwdWeights };
  void require(Pass p) const {
    const mec::Pass want = p == Pass::kFwd       ? mec::Pass::kForward
                           : p == Pass::kBwdData ? mec::Pass::kBackwardData
                                                 : mec::Pass::kBackwardWeights;
    if (plan_->pass() != want) {
      throw py::value_error(std::string("this plan computes the ") + mec::pass_name(plan_->pass()) +
                            " pass");
    }
  }

  FloatArray weights_of(const py::array& w) const {
    const FloatArray a = float_array(w, "weight", 4);
    for (int i = 0; i < 4; ++i) {
      if (a.shape(i) != weight_[size_t(i)])
        throw py::value_error("weight shape differs from the plan's");
    }
    return a;
  }

  // A 4-D tensor in the plan's layout as NHWC floats (NCHW: transposed).
  std::vector<float> to_nhwc(const py::array& t, const char* name) const {
    return to_nhwc(t, name, desc_.h, desc_.w, desc_.c);
  }
  std::vector<float> to_nhwc(const py::array& t, const char* name, int64_t h, int64_t w,
                             int64_t c) const {
    const FloatArray a = float_array(t, name, 4);
    const bool nchw = settings_.layout == "NCHW";
    const int64_t want[4] = {desc_.n, nchw ? c : h, nchw ? h : w, nchw ? w : c};
    for (int i = 0; i < 4; ++i) {
      if (a.shape(i) != want[i]) {
        throw py::value_error(std::string(name) + " has the wrong shape for this plan");
      }
    }
    std::vector<float> out(size_t(desc_.n * h * w * c));
    const float* in = a.data();
    if (!nchw) {
      std::memcpy(out.data(), in, out.size() * sizeof(float));
      return out;
    }
    for (int64_t n = 0; n < desc_.n; ++n) {
      for (int64_t ch = 0; ch < c; ++ch) {
        const float* plane = in + (n * c + ch) * h * w;
        for (int64_t i = 0; i < h * w; ++i) out[size_t((n * h * w + i) * c + ch)] = plane[i];
      }
    }
    return out;
  }

  py::array_t<float> from_nhwc(const std::vector<float>& v, int64_t n, int64_t h, int64_t w,
                               int64_t c) const {
    if (settings_.layout == "NHWC") {
      py::array_t<float> out(std::vector<py::ssize_t>{n, h, w, c});
      std::memcpy(out.mutable_data(), v.data(), v.size() * sizeof(float));
      return out;
    }
    py::array_t<float> out(std::vector<py::ssize_t>{n, c, h, w});
    float* o = out.mutable_data();
    for (int64_t b = 0; b < n; ++b) {
      for (int64_t i = 0; i < h * w; ++i) {
        for (int64_t ch = 0; ch < c; ++ch)
          o[(b * c + ch) * h * w + i] = v[size_t((b * h * w + i) * c + ch)];
      }
    }
    return out;
  }

  const Settings settings_;
  const mec::Conv2dDesc desc_;
  const std::vector<int64_t> input_, weight_;
  std::unique_ptr<mec::Conv2dPlan> plan_;
  std::vector<unsigned char> workspace_;
};

// The context of a CUDA device and stream, made once per pair: its handles
// are created by Context::cuda() and shared by the copies the plans keep.
// Never destroyed, so that no CUDA handle is released after the driver
// has shut down at exit.
mec::Context cuda_context(int device, uintptr_t stream) {
  static auto* contexts = new std::map<std::pair<int, uintptr_t>, mec::Context>();
  const auto key = std::make_pair(device, stream);
  auto it = contexts->find(key);
  if (it != contexts->end()) return it->second;
  mec::Context ctx;
  check(mec::Context::cuda(&ctx, reinterpret_cast<void*>(stream), device));
  return contexts->emplace(key, ctx).first->second;
}

// A plan of one pass over tensors the caller owns, addressed by integers
// (mec.torch passes tensor.data_ptr()): src and dst NHWC, weights OIHW or
// OHWI, the workspace the caller's. geometry: n c h w k r s, pads top
// bottom left right, stride h w, dilation h w, groups. device "cpu" (threads
// as Context::cpu) or "cuda" (device index and cudaStream_t as an integer).
class AddressPlan {
 public:
  AddressPlan(const std::vector<int64_t>& g, const std::string& filter_layout,
              const std::string& pass, const std::string& algo, int threads,
              const py::object& workspace_limit, const std::string& auto_mode,
              const std::string& device, int device_index, uintptr_t stream) {
    if (g.size() != 16) throw py::value_error("geometry must have 16 values");
    mec::Conv2dDesc& d = desc_;
    d.n = g[0], d.c = g[1], d.h = g[2], d.w = g[3], d.k = g[4], d.r = g[5], d.s = g[6];
    d.pad_top = g[7], d.pad_bottom = g[8], d.pad_left = g[9], d.pad_right = g[10];
    d.stride_h = g[11], d.stride_w = g[12], d.dilation_h = g[13], d.dilation_w = g[14];
    d.groups = g[15];
    if (filter_layout == "OIHW") {
      d.filter_layout = mec::FilterLayout::kOIHW;
    } else if (filter_layout == "OHWI") {
      d.filter_layout = mec::FilterLayout::kOHWI;
    } else {
      throw py::value_error("filter_layout must be 'OIHW' or 'OHWI'");
    }
    mec::Algorithm a;
    if (!mec::parse_algorithm(algo.c_str(), &a)) {
      throw py::value_error("unknown algorithm '" + algo + "'");
    }
    mec::Pass p;
    if (!mec::parse_pass(pass.c_str(), &p)) {
      throw py::value_error("pass must be 'fwd', 'bwd_data' or 'bwd_weights'");
    }
    if (auto_mode != "model" && auto_mode != "measure") {
      throw py::value_error("auto_mode must be 'model' or 'measure'");
    }
    mec::Context ctx;
    if (device == "cpu") {
      ctx = mec::Context::cpu(threads);
    } else if (device == "cuda") {
      ctx = cuda_context(device_index, stream);
    } else {
      throw py::value_error("device must be 'cpu' or 'cuda'");
    }
    if (!workspace_limit.is_none()) ctx.set_workspace_limit(workspace_limit.cast<size_t>());
    ctx.set_auto_mode(auto_mode == "measure" ? mec::AutoMode::kMeasure : mec::AutoMode::kModel);
    check(mec::Conv2dPlan::create(d, p, a, ctx, &plan_));
  }

  size_t workspace_bytes() const { return plan_->workspace_bytes(); }
  std::string algorithm() const { return mec::algorithm_name(plan_->algorithm()); }
  std::string variant() const { return plan_->variant(); }
  std::string pass() const { return mec::pass_name(plan_->pass()); }
  int64_t p() const { return desc_.p(); }
  int64_t q() const { return desc_.q(); }

  // The passes; an address of 0 is a null pointer. The GIL is released
  // while libmec runs, and taken back before an error is raised.
  void forward(uintptr_t src, uintptr_t w, uintptr_t bias, uintptr_t dst, uintptr_t ws,
               size_t bytes) const {
    mec::Status st;
    {
      py::gil_scoped_release release;
      st = plan_->run(f(src), f(w), f(bias), f(dst), f(ws), bytes);
    }
    check(st);
  }
  void backward_data(uintptr_t ddst, uintptr_t w, uintptr_t dsrc, uintptr_t ws,
                     size_t bytes) const {
    mec::Status st;
    {
      py::gil_scoped_release release;
      st = plan_->run_backward_data(f(ddst), f(w), f(dsrc), f(ws), bytes);
    }
    check(st);
  }
  void backward_weights(uintptr_t src, uintptr_t ddst, uintptr_t dw, uintptr_t db, uintptr_t ws,
                        size_t bytes) const {
    mec::Status st;
    {
      py::gil_scoped_release release;
      st = plan_->run_backward_weights(f(src), f(ddst), f(dw), f(db), f(ws), bytes);
    }
    check(st);
  }

 private:
  static float* f(uintptr_t address) { return reinterpret_cast<float*>(address); }
  mec::Conv2dDesc desc_;
  std::unique_ptr<mec::Conv2dPlan> plan_;
};

}  // namespace

PYBIND11_MODULE(_mec, m) {
  m.doc() = "libmec's 2-D convolutions over NumPy float32 arrays (docs/python.md)";
  workspace_error = PyErr_NewException("mec.WorkspaceError", PyExc_RuntimeError, nullptr);
  m.attr("WorkspaceError") = py::handle(workspace_error);
  m.attr("__version__") = mec::version();
  py::class_<Settings>(m, "Settings")
      .def(py::init<>())
      .def_readwrite("stride", &Settings::stride)
      .def_readwrite("dilation", &Settings::dilation)
      .def_readwrite("padding", &Settings::padding)
      .def_readwrite("groups", &Settings::groups)
      .def_readwrite("algo", &Settings::algo)
      .def_readwrite("layout", &Settings::layout)
      .def_readwrite("auto_mode", &Settings::auto_mode)
      .def_readwrite("threads", &Settings::threads)
      .def_readwrite("workspace_limit", &Settings::workspace_limit);
  py::class_<Plan>(m, "Plan")
      .def(py::init<const std::vector<int64_t>&, const std::vector<int64_t>&, const std::string&,
                    const Settings&>(),
           py::arg("input_shape"), py::arg("weight_shape"), py::arg("pass_"), py::arg("settings"))
      .def_property_readonly("workspace_bytes", &Plan::workspace_bytes)
      .def_property_readonly("algorithm", &Plan::algorithm)
      .def_property_readonly("variant", &Plan::variant)
      .def_property_readonly("pass_", &Plan::pass)
      .def("forward", &Plan::forward, py::arg("input"), py::arg("weight"),
           py::arg("bias") = py::none())
      .def("backward_data", &Plan::backward_data, py::arg("grad_output"), py::arg("weight"))
      .def("backward_weights", &Plan::backward_weights, py::arg("input"), py::arg("grad_output"));
  py::class_<AddressPlan>(m, "AddressPlan")
      .def(py::init<const std::vector<int64_t>&, const std::string&, const std::string&,
                    const std::string&, int, const py::object&, const std::string&,
                    const std::string&, int, uintptr_t>(),
           py::arg("geometry"), py::arg("filter_layout"), py::arg("pass_"), py::arg("algo"),
           py::arg("threads"), py::arg("workspace_limit"), py::arg("auto_mode"), py::arg("device"),
           py::arg("device_index") = 0, py::arg("stream") = 0)
      .def_property_readonly("workspace_bytes", &AddressPlan::workspace_bytes)
      .def_property_readonly("algorithm", &AddressPlan::algorithm)
      .def_property_readonly("variant", &AddressPlan::variant)
      .def_property_readonly("pass_", &AddressPlan::pass)
      .def_property_readonly("p", &AddressPlan::p)
      .def_property_readonly("q", &AddressPlan::q)
      .def("forward", &AddressPlan::forward)
      .def("backward_data", &AddressPlan::backward_data)
      .def("backward_weights", &AddressPlan::backward_weights);
}
