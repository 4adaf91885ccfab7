// The backward references (src/reference/reference_backward.h) are the truth
// that gradient code is checked against, so they are checked here against
// the forward truth alone: the adjoint identity <conv(src, w), ddst> ==
// <src, dsrc> == <w, dweights> on random descriptors, central differences of
// <conv(src, w) + bias, ddst> through reference::conv2d (exact up to
// rounding, conv being linear in each argument), every entry against a
// scatter written in this file, and the edge shapes: stride above the
// kernel, padding above the kernel and the input, dilation, depthwise, 1x1.
#include "reference/reference_backward.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <string>
#include <vector>

#include "common/shape_string.h"
#include "random_desc.h"
#include "reference/reference_conv.h"

namespace mec {
namespace testing {
namespace {

constexpr FilterLayout kLayouts[] = {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW};

std::vector<float> uniform(std::mt19937& rng, int64_t count) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(count);
  for (float& x : v) x = dist(rng);
  return v;
}

template <typename A, typename B>
double dot(const std::vector<A>& a, const std::vector<B>& b) {
  double acc = 0.0;
  for (size_t i = 0; i < a.size(); ++i) acc += double(a[i]) * double(b[i]);
  return acc;
}

std::vector<float> absolute(std::vector<float> v) {
  for (float& x : v) x = std::fabs(x);
  return v;
}

std::string describe(const Conv2dDesc& d) {
  static const char* const names[] = {"HWIO", "OHWI", "OIHW"};
  return format_shape(d) + " " + names[int(d.filter_layout)];
}

Conv2dDesc shape(const char* text, FilterLayout layout) {
  Conv2dDesc d;
  std::string error;
  EXPECT_TRUE(parse_shape(text, &d, &error)) << text << ": " << error;
  d.filter_layout = layout;
  EXPECT_EQ(validate(d), Status::kSuccess) << text;
  return d;
}

// One random problem and its reference gradients.
struct Problem {
  Conv2dDesc d;
  std::vector<float> src, weights, bias, ddst;
  std::vector<double> dsrc, dweights, dbias;

  Problem(const Conv2dDesc& desc, std::mt19937& rng)
      : d(desc),
        src(uniform(rng, desc.src_elems())),
        weights(uniform(rng, desc.weight_elems())),
        bias(uniform(rng, desc.k)),
        ddst(uniform(rng, desc.dst_elems())),
        dsrc(desc.src_elems(), NAN),
        dweights(desc.weight_elems(), NAN),
        dbias(desc.k, NAN) {
    reference::conv2d_backward_data(d, ddst.data(), weights.data(), dsrc.data());
    reference::conv2d_backward_weights(d, src.data(), ddst.data(), dweights.data(), dbias.data());
  }

  // <conv(s, w) + b, ddst> through the forward truth.
  double loss(const std::vector<float>& s, const std::vector<float>& w,
              const std::vector<float>* b) const {
    std::vector<double> dst(d.dst_elems());
    reference::conv2d(d, s.data(), w.data(), b ? b->data() : nullptr, dst.data());
    return dot(dst, ddst);
  }
};

// The three inner products agree; returns the worst relative difference,
// measured against <|conv|(|src|, |w|), |ddst|>, the sum of the magnitudes
// of the terms that all three add up. That sum is 0 only where every window
// lies in the padding: then all three must be exactly 0.
double check_adjoint(const Problem& pr) {
  const double forward = pr.loss(pr.src, pr.weights, nullptr);
  const double via_data = dot(pr.dsrc, pr.src);
  const double via_weights = dot(pr.dweights, pr.weights);
  std::vector<double> abs_dst(pr.d.dst_elems());
  reference::conv2d(pr.d, absolute(pr.src).data(), absolute(pr.weights).data(), nullptr,
                    abs_dst.data());
  const double scale = dot(abs_dst, absolute(pr.ddst));
  const double err = std::max(std::fabs(via_data - forward), std::fabs(via_weights - forward)) /
                     std::max(scale, 1e-300);
  EXPECT_LT(err, 1e-12) << describe(pr.d) << ": <conv, ddst> " << forward << ", <src, dsrc> "
                        << via_data << ", <w, dweights> " << via_weights;
  return err;
}

// The weight index of (ko, i, j, ci) in the descriptor's layout, for the
// scatter below (written here, apart from the library and the reference).
int64_t weight_index(const Conv2dDesc& d, int64_t ko, int64_t i, int64_t j, int64_t ci) {
  const int64_t cg = d.c / d.groups;
  if (d.filter_layout == FilterLayout::kHWIO) return ((i * d.s + j) * cg + ci) * d.k + ko;
  if (d.filter_layout == FilterLayout::kOHWI) return ((ko * d.r + i) * d.s + j) * cg + ci;
  return ((ko * cg + ci) * d.r + i) * d.s + j;
}

// The gradients as a scatter: the forward loop, with each product's partner
// added into the gradient instead of the product into dst. Every entry
// matches the gathers to rounding; untouched src elements stay exactly 0.
void check_against_scatter(const Problem& pr) {
  const Conv2dDesc& d = pr.d;
  const int64_t p = d.p(), q = d.q(), cg = d.c / d.groups, kg = d.k / d.groups;
  std::vector<double> dsrc(d.src_elems(), 0.0), dweights(d.weight_elems(), 0.0);
  std::vector<bool> reached(d.src_elems(), false);
  for (int64_t n = 0; n < d.n; ++n)
    for (int64_t y = 0; y < p; ++y)
      for (int64_t x = 0; x < q; ++x)
        for (int64_t ko = 0; ko < d.k; ++ko) {
          const double g = pr.ddst[((n * p + y) * q + x) * d.k + ko];
          for (int64_t i = 0; i < d.r; ++i) {
            const int64_t iy = y * d.stride_h - d.pad_top + i * d.dilation_h;
            for (int64_t j = 0; j < d.s; ++j) {
              const int64_t ix = x * d.stride_w - d.pad_left + j * d.dilation_w;
              if (iy < 0 || iy >= d.h || ix < 0 || ix >= d.w) continue;
              for (int64_t ci = 0; ci < cg; ++ci) {
                const int64_t se = ((n * d.h + iy) * d.w + ix) * d.c + (ko / kg) * cg + ci;
                const int64_t we = weight_index(d, ko, i, j, ci);
                dsrc[se] += g * pr.weights[we];
                dweights[we] += g * pr.src[se];
                reached[se] = true;
              }
            }
          }
        }
  for (int64_t e = 0; e < d.src_elems(); ++e) {
    if (!reached[e]) {
      ASSERT_EQ(pr.dsrc[e], 0.0) << describe(d) << " src element " << e << " is never read";
    }
    ASSERT_NEAR(pr.dsrc[e], dsrc[e], 1e-12 * (1.0 + std::fabs(dsrc[e])))
        << describe(d) << " dsrc " << e;
  }
  for (int64_t e = 0; e < d.weight_elems(); ++e) {
    ASSERT_NEAR(pr.dweights[e], dweights[e], 1e-12 * (1.0 + std::fabs(dweights[e])))
        << describe(d) << " dweights " << e;
  }
}

// Central differences of the loss in `count` random elements of src, of the
// weights and of the bias (plus the first and last of each), perturbed by
// +-h in float; the step is the perturbed values' actual difference.
void check_finite_differences(const Problem& pr, std::mt19937& rng, int count) {
  const float h = 1e-2f;
  std::vector<float> s = pr.src, w = pr.weights, b = pr.bias;
  auto check = [&](std::vector<float>* v, int64_t e, double gradient, const char* what) {
    const float x = (*v)[e];
    (*v)[e] = x + h;
    const double up = (*v)[e];
    const double f_up = pr.loss(s, w, &b);
    (*v)[e] = x - h;
    const double step = up - double((*v)[e]);
    const double fd = (f_up - pr.loss(s, w, &b)) / step;
    (*v)[e] = x;
    EXPECT_NEAR(fd, gradient, 1e-9 * (1.0 + std::fabs(gradient)))
        << describe(pr.d) << " " << what << " element " << e;
  };
  auto picks = [&](int64_t size) {
    std::vector<int64_t> e = {0, size - 1};
    for (int t = 0; t < count; ++t)
      e.push_back(std::uniform_int_distribution<int64_t>(0, size - 1)(rng));
    return e;
  };
  for (int64_t e : picks(pr.d.src_elems())) check(&s, e, pr.dsrc[e], "src");
  for (int64_t e : picks(pr.d.weight_elems())) check(&w, e, pr.dweights[e], "weight");
  for (int64_t e : picks(pr.d.k)) check(&b, e, pr.dbias[e], "bias");
}

// dbias is the per-channel sum of ddst.
void check_bias(const Problem& pr) {
  std::vector<double> sums(pr.d.k, 0.0);
  for (size_t e = 0; e < pr.ddst.size(); ++e) sums[e % pr.d.k] += pr.ddst[e];
  for (int64_t ko = 0; ko < pr.d.k; ++ko) {
    EXPECT_NEAR(pr.dbias[ko], sums[ko], 1e-12 * (1.0 + std::fabs(sums[ko]))) << describe(pr.d);
  }
}

TEST(ReferenceBackward, AdjointIdentity) {
  std::mt19937 rng(20240611);
  double worst = 0.0;
  int all_padding = 0;
  for (int t = 0; t < 200; ++t) {
    const Problem pr(random_desc(rng), rng);
    worst = std::max(worst, check_adjoint(pr));
    check_bias(pr);
    all_padding +=
        std::all_of(pr.dweights.begin(), pr.dweights.end(), [](double g) { return g == 0.0; });
  }
  // Nearly every shape has a window that reads src.
  EXPECT_LT(all_padding, 10);
  std::printf("worst relative adjoint mismatch: %.3g (%d shapes read no src)\n", worst,
              all_padding);
}

TEST(ReferenceBackward, MatchesScatter) {
  std::mt19937 rng(77);
  for (int t = 0; t < 100; ++t) {
    const Problem pr(random_desc(rng), rng);
    check_against_scatter(pr);
    if (HasFatalFailure()) return;
  }
}

TEST(ReferenceBackward, FiniteDifferences) {
  std::mt19937 rng(5);
  RandomDescLimits small;
  small.max_n = 2;
  small.max_hw = 9;
  small.max_c_per_group = 4;
  small.max_k_per_group = 4;
  small.max_rs = 4;
  for (int t = 0; t < 20; ++t) {
    const Problem pr(random_desc(rng, small), rng);
    check_finite_differences(pr, rng, 4);
    check_bias(pr);
  }
}

TEST(ReferenceBackward, EdgeShapes) {
  const char* const shapes[] = {
      "n2h11w13c3k4r2s1uh3uw4",               // stride above the kernel: rows/columns never read
      "h4w5c2k3r2s3pt4pb3pl5pr2",             // padding above the kernel: windows in padding only
      "n2h1w2c3k2r1s1p3",                     // padding above the input, 1x1
      "h12w10c4k3r3s2pt2pb1pl2pr2uh2dh3dw4",  // dilation with stride and padding
      "n2h7w6c6k6g6r3s3p1u2",                 // depthwise
      "h7w6c6k12g6r3s2pt1pb0pl2pr1dh2",       // depthwise, two filters per channel
      "n2h6w5c5k7r1s1",                       // 1x1
      "h9w8c4k6g2r1s1u2",                     // 1x1, stride 2, grouped
      "n3h5w4c3k5r5s4",                       // the window is the whole input (1x1 output)
      "n3h1w1c2k3r1s1",                       // 1x1 input
  };
  std::mt19937 rng(9);
  for (const char* text : shapes) {
    for (FilterLayout layout : kLayouts) {
      const Problem pr(shape(text, layout), rng);
      check_adjoint(pr);
      check_against_scatter(pr);
      check_finite_differences(pr, rng, 6);
      check_bias(pr);
    }
  }
}

// Stride 3 over a 2-row kernel reads rows 3y and 3y + 1 only: row 3y + 2 of
// src has an exactly zero gradient, and every weight still gets one.
TEST(ReferenceBackward, UnreadRowsHaveZeroGradient) {
  std::mt19937 rng(3);
  const Problem pr(shape("n2h11w5c3k4r2s2u3", FilterLayout::kOHWI), rng);
  for (int64_t e = 0; e < pr.d.src_elems(); ++e) {
    const int64_t iy = (e / (pr.d.w * pr.d.c)) % pr.d.h;
    const int64_t ix = (e / pr.d.c) % pr.d.w;
    if (iy % 3 == 2 || ix % 3 == 2) {
      EXPECT_EQ(pr.dsrc[e], 0.0) << "row " << iy << " column " << ix;
    } else {
      EXPECT_NE(pr.dsrc[e], 0.0) << "row " << iy << " column " << ix;
    }
  }
  for (double g : pr.dweights) EXPECT_NE(g, 0.0);
}

}  // namespace
}  // namespace testing
}  // namespace mec
