// Tests of mecbench's sampled reference check (sampled_check.h), which is
// all that stands between a large layer and an unchecked wrong result: the
// sample covers every image, output row, output column and channel block;
// a correct output passes; and a fault in any one image, row, column or
// channel block, or in one element at a sampled point, or an unwritten
// element anywhere, fails. Built and registered by tests/CMakeLists.txt.
#include "sampled_check.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>
#include <random>
#include <set>

#include "common/shape_string.h"

namespace {

using mec::reference::OutputPoint;

mec::Conv2dDesc shape(const char* text) {
  mec::Conv2dDesc d;
  std::string error;
  EXPECT_TRUE(mec::parse_shape(text, &d, &error)) << error;
  EXPECT_EQ(mec::validate(d), mec::Status::kSuccess) << mec::last_error();
  return d;
}

// A layer with random inputs, its exact output (the whole double
// reference) and the sampled truth.
struct Layer {
  mec::Conv2dDesc d;
  std::vector<float> src, weights, bias;
  std::vector<double> full;
  std::vector<OutputPoint> points;
  std::vector<double> truth;

  Layer(const char* text, int64_t target) : d(shape(text)) {
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
    for (auto* v : {&src, &weights, &bias}) {
      v->resize(v == &src ? d.src_elems() : v == &weights ? d.weight_elems() : d.k);
      for (float& x : *v) x = uniform(rng);
    }
    full.resize(d.dst_elems());
    mec::reference::conv2d(d, src.data(), weights.data(), bias.data(), full.data());
    points = mecbench::sample_points(d, target);
    truth.resize(points.size());
    mec::reference::conv2d_at(d, src.data(), weights.data(), bias.data(), points.data(),
                              int64_t(points.size()), truth.data());
  }
  // The correct output in fp32.
  std::vector<float> output() const { return std::vector<float>(full.begin(), full.end()); }
  double error(const std::vector<float>& out) const {
    return mecbench::sampled_rel_error(d, out.data(), points, truth);
  }
  // The correct output with every element for which `hit` holds moved by
  // the largest |output|: a relative error of 1 wherever it is seen.
  std::vector<float> corrupted(const std::function<bool(int64_t, int64_t, int64_t, int64_t)>& hit) {
    std::vector<float> out = output();
    double scale = 0.0;
    for (double v : full) scale = std::max(scale, std::fabs(v));
    const int64_t p = d.p(), q = d.q();
    for (int64_t n = 0; n < d.n; ++n)
      for (int64_t y = 0; y < p; ++y)
        for (int64_t x = 0; x < q; ++x)
          for (int64_t k = 0; k < d.k; ++k)
            if (hit(n, y, x, k)) out[((n * p + y) * q + x) * d.k + k] += float(scale);
    return out;
  }
};

// Layers whose sample is small against their output, with padding, stride,
// dilation and groups; the second has more channels than the target (blocks
// of 3 channels), the third more rows than the target.
const struct {
  const char* shape;
  int64_t target;
} kLayers[] = {{"n3h17w13c6k24r3s3p1u1g2", 96},
               {"n2h9w10c4k200r3s2pt1pb0pl2pr1u2d1", 80},
               {"n1h300w5c2k5r5s1p2dh2", 64}};

TEST(SampledCheck, CoversEveryImageRowColumnAndChannelBlock) {
  for (const auto& l : kLayers) {
    const mec::Conv2dDesc d = shape(l.shape);
    const std::vector<OutputPoint> points = mecbench::sample_points(d, l.target);
    const int64_t block = (d.k + l.target - 1) / l.target;
    std::set<int64_t> ns, ys, xs, blocks;
    for (const OutputPoint& pt : points) {
      ASSERT_TRUE(pt.n >= 0 && pt.n < d.n && pt.y >= 0 && pt.y < d.p() && pt.x >= 0 &&
                  pt.x < d.q() && pt.k >= 0 && pt.k < d.k);
      ns.insert(pt.n);
      ys.insert(pt.y);
      xs.insert(pt.x);
      blocks.insert(pt.k / block);
    }
    EXPECT_GE(int64_t(points.size()), l.target) << l.shape;
    EXPECT_LT(int64_t(points.size()), d.dst_elems() / 2) << l.shape << ": not a sample";
    EXPECT_EQ(int64_t(ns.size()), d.n) << l.shape;
    EXPECT_EQ(int64_t(ys.size()), d.p()) << l.shape;
    EXPECT_EQ(int64_t(xs.size()), d.q()) << l.shape;
    EXPECT_EQ(int64_t(blocks.size()), (d.k + block - 1) / block) << l.shape;
    // Deterministic: the same layer gives the same sample.
    const std::vector<OutputPoint> again = mecbench::sample_points(d, l.target);
    ASSERT_EQ(again.size(), points.size());
    for (size_t i = 0; i < points.size(); ++i) {
      EXPECT_TRUE(again[i].n == points[i].n && again[i].y == points[i].y &&
                  again[i].x == points[i].x && again[i].k == points[i].k);
    }
  }
}

TEST(SampledCheck, PassesCorrectOutputs) {
  for (const auto& l : kLayers) {
    Layer layer(l.shape, l.target);
    EXPECT_LT(layer.error(layer.output()), 1e-6) << l.shape;
    // And a float algorithm's output, with its own rounding.
    const mec::Conv2dDesc& d = layer.d;
    std::vector<float> out(d.dst_elems());
    ASSERT_EQ(mec::conv2d(d, mec::Algorithm::kMec, mec::Context::cpu(1), layer.src.data(),
                          layer.weights.data(), layer.bias.data(), out.data()),
              mec::Status::kSuccess)
        << mec::last_error();
    EXPECT_LT(layer.error(out), 1e-4) << l.shape;
  }
}

TEST(SampledCheck, CatchesAFaultInAnyImageRowColumnOrChannelBlock) {
  for (const auto& l : kLayers) {
    Layer layer(l.shape, l.target);
    const mec::Conv2dDesc& d = layer.d;
    const int64_t block = (d.k + l.target - 1) / l.target;
    for (int64_t n = 0; n < d.n; ++n) {
      EXPECT_GT(layer.error(layer.corrupted(
                    [&](int64_t n1, int64_t, int64_t, int64_t) { return n1 == n; })),
                0.5)
          << l.shape << ": image " << n;
    }
    for (int64_t y = 0; y < d.p(); ++y) {
      EXPECT_GT(layer.error(layer.corrupted(
                    [&](int64_t, int64_t y1, int64_t, int64_t) { return y1 == y; })),
                0.5)
          << l.shape << ": row " << y;
    }
    for (int64_t x = 0; x < d.q(); ++x) {
      EXPECT_GT(layer.error(layer.corrupted(
                    [&](int64_t, int64_t, int64_t x1, int64_t) { return x1 == x; })),
                0.5)
          << l.shape << ": column " << x;
    }
    for (int64_t b = 0; b * block < d.k; ++b) {
      EXPECT_GT(layer.error(layer.corrupted(
                    [&](int64_t, int64_t, int64_t, int64_t k1) { return k1 / block == b; })),
                0.5)
          << l.shape << ": channel block " << b;
    }
  }
}

TEST(SampledCheck, CatchesOneWrongElementAtASampledPoint) {
  Layer layer(kLayers[0].shape, kLayers[0].target);
  const mec::Conv2dDesc& d = layer.d;
  const int64_t p = d.p(), q = d.q();
  for (size_t i : {size_t(0), layer.points.size() / 2, layer.points.size() - 1}) {
    const OutputPoint& pt = layer.points[i];
    std::vector<float> out = layer.output();
    out[((pt.n * p + pt.y) * q + pt.x) * d.k + pt.k] += 0.1f;  // small, but far above rounding
    EXPECT_GT(layer.error(out), 1e-3) << "point " << i;
  }
}

TEST(SampledCheck, CatchesAnUnwrittenElementOffTheSample) {
  Layer layer(kLayers[0].shape, kLayers[0].target);
  const mec::Conv2dDesc& d = layer.d;
  const int64_t p = d.p(), q = d.q();
  std::set<int64_t> sampled;
  for (const OutputPoint& pt : layer.points) {
    sampled.insert(((pt.n * p + pt.y) * q + pt.x) * d.k + pt.k);
  }
  int64_t off = 0;
  while (sampled.count(off)) ++off;
  std::vector<float> out = layer.output();
  out[off] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_EQ(layer.error(out), HUGE_VAL);
}

}  // namespace
