// MEC's CUDA paths, each forced and by kMec's rule: our GEMM kernel's
// tiles and splits in fp32 and TF32, the lowering done in the GEMM's copies
// (no L), Solution B over cuBLAS's batched GEMMs with TF32, the shallow-
// window and grouped kernels, kMec's choice between A and B, and the
// variant() string naming each path. Split from cuda_algorithms_test.cc,
// which keeps the generic sweeps. Every test skips when no GPU is present.
#include <algorithm>
#include <string>

#include "cuda_test_util.h"

namespace mec {
namespace testing {
namespace {

// Every tile shape of our MEC GEMM kernel (forced with Context::set_cuda_tile),
// with the split of K the plan chooses and with forced
// odd splits (the last one shorter; more than the depth's K steps on the
// first case), vector (c % 4 == 0) and scalar A loads, K not a multiple
// of the tile's K step, bias, packed, groups; in strict fp32 (FFMA) and
// with TF32 allowed (the mma.sync tensor-core path).
TEST_F(CudaAlgorithms, MecGemmTiles) {
  const ConvTester cases[] = {
      ConvTester().input(23, 19).channels(3, 70).kernel(5, 4).pad(1, 2, 0, 1).stride(2, 1),
      ConvTester().batch(2).input(9, 11).channels(36, 130).kernel(3, 3).pad(1),
      ConvTester().batch(4).input(40, 40).channels(4, 66).kernel(3, 3),  // no split
      ConvTester().input(5, 5).channels(520, 33).kernel(3, 3).pad(1),    // deep, few rows
      // RGB at stride 4: L gets a zero row so that its windows are 16-byte aligned (kernels.h)
      ConvTester().batch(3).input(30, 27).channels(3, 96).kernel(11, 11).pad(1, 0, 0, 2).stride(4),
      // groups of at least 64 output channels (a launch per group):
      // 70 per group (scalar B and dst), 64 with 8 input channels, 5 input
      // channels (scalar A) with stride and padding
      ConvTester().batch(2).input(9, 10).channels(24, 140).kernel(3, 3).groups(2).pad(1),
      ConvTester().input(12, 11).channels(24, 192).kernel(3, 2).groups(3).pad(0, 1, 1, 0),
      ConvTester().batch(2).input(13, 9).channels(10, 128).kernel(3, 3).groups(2).stride(2, 1),
  };
  const CudaTile tiles[] = {{128, 128},    {128, 96},    {128, 64},    {64, 64},     {32, 64},
                            {128, 128, 7}, {128, 96, 5}, {128, 64, 3}, {64, 64, 13}, {32, 64, 5}};
  for (const ConvTester& tester : cases) {
    Problem problem(tester.desc(), true, 17);
    for (const CudaTile& tile : tiles) {
      for (bool tf32 : {false, true}) {
        const double err = check_cuda(problem, Algorithm::kMecB, stream_,
                                      {.tf32 = tf32, .mec_threshold = 100000, .tile = tile});
        const double packed_err =
            check_cuda(problem, Algorithm::kMecB, stream_,
                       {.packed = true, .tf32 = tf32, .mec_threshold = 100000, .tile = tile});
        const double worst = std::max(err, packed_err);
        EXPECT_LE(worst, tolerance(Algorithm::kMecB, tf32))
            << tile_name(tile) << (tf32 ? " tf32" : "") << " on " << describe(problem.desc);
        // TF32's 10-bit operands leave errors far above fp32's: below them,
        // the tensor-core path did not run.
        if (tf32) {
          EXPECT_GT(worst, tolerance(Algorithm::kMecB, false)) << tile_name(tile);
        }
      }
    }
  }
}

// kMec on products whose windows the copies can follow - c a multiple of
// 16 (a 16-float K step lies in one pixel: the pixels cursor), or
// dilation_w == 1 and s*c >= 16 (the RGB layers: a kernel row is s*c
// contiguous floats of src, the runs cursor) - the GEMM kernel does the
// lowering in its copies
// (mec_gemm_src) - no L, so the workspace is only the OIHW repack - through
// every tile and forced split, fp32 and TF32, with asymmetric padding,
// stride, dilation_w, a deep K, odd k (scalar B), every filter layout,
// misaligned src/dst (4-byte copies); shapes neither cursor follows keep L;
// CudaFromSrc::kNever gives L back. dst overlapping src is refused. (With
// OHWI weights and TF32 this also runs Solution B's batched cuBLAS GEMMs on
// a misaligned dst: fp32 ones there, since TF32 faulted.)
TEST_F(CudaAlgorithms, MecLoweringInCopies) {
  struct Case {
    ConvTester tester;
    bool from_src;  // by kMec's rule
  };
  const Case cases[] = {
      {ConvTester().input(9, 11).channels(16, 70).kernel(3, 3).pad(1, 2, 0, 1).stride(2, 1), true},
      {ConvTester().batch(2).input(12, 10).channels(32, 64).kernel(5, 3).pad(2).dilation(1, 2),
       true},
      {ConvTester().input(7, 7).channels(48, 130).kernel(3, 3).pad(1), true},  // K = 432: splits
      {ConvTester().batch(3).input(6, 9).channels(48, 33).kernel(1, 1).layout(FilterLayout::kOIHW),
       true},
      {ConvTester()
           .input(8, 8)
           .channels(16, 64)
           .kernel(2, 3)
           .pad(0, 1, 2, 0)
           .layout(FilterLayout::kOHWI),
       false},  // OHWI: L and cuBLAS
      // c % 16 != 0: kernel rows of s*c >= 16 contiguous floats (the runs
      // cursor) - steps across kernel rows and into the padding on either
      // side.
      {ConvTester().input(15, 13).channels(3, 40).kernel(7, 7).pad(3, 2, 1, 3).stride(2), true},
      // (cv1's shape: its windows of L are 16-byte aligned, so L by the fp32 rule)
      {ConvTester().batch(2).input(27, 25).channels(3, 96).kernel(11, 11).stride(4).pad(2), false},
      // 2116 rows, 96 columns: 128 x 96 tiles over L, 64 x 64 from src
      {ConvTester().input(92, 92).channels(3, 96).kernel(7, 7).stride(2).pad(3), true},
      {ConvTester().input(10, 9).channels(6, 17).kernel(3, 3).pad(0, 1, 2, 1).stride(1, 2), true},
      {ConvTester().batch(2).input(9, 9).channels(5, 64).kernel(4, 5).pad(1).layout(
           FilterLayout::kOIHW),
       true},
      {ConvTester().input(11, 12).channels(3, 24).kernel(5, 5).pad(2), false},  // s*c = 15
      {ConvTester().input(11, 12).channels(3, 24).kernel(3, 6).dilation(1, 2), false},
  };
  const CudaTile tiles[] = {{},       {128, 128},    {128, 96},   {128, 64},  {64, 64},
                            {32, 64}, {128, 128, 3}, {64, 64, 5}, {32, 64, 2}};
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  for (const Case& c : cases) {
    Problem problem(c.tester.desc(), true, 29);
    const Conv2dDesc& d = problem.desc;
    std::unique_ptr<Conv2dPlan> plan;
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    const size_t repack = d.filter_layout == FilterLayout::kOIHW ? d.weight_elems() * 4 : 0;
    EXPECT_EQ(plan->workspace_bytes() == repack, c.from_src) << describe(d);
    // Every tile reading src (kWhereverItFits: also the FFMA 128 x 128 and
    // 128 x 96 tiles, which kMec's rule keeps on L).
    const CudaFromSrc all = CudaFromSrc::kWhereverItFits;
    for (const CudaTile& tile : tiles) {
      for (bool tf32 : {false, true}) {
        for (bool packed : {false, true}) {
          check_cuda(problem, Algorithm::kMec, stream_,
                     {.packed = packed, .tf32 = tf32, .tile = tile, .from_src = all});
        }
        check_cuda(problem, Algorithm::kMec, stream_,
                   {.tf32 = tf32, .misalign_floats = 1, .tile = tile, .from_src = all});
      }
    }
    ctx.set_cuda_from_src(CudaFromSrc::kNever);
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    ctx.set_cuda_from_src(CudaFromSrc::kAuto);
    EXPECT_GT(plan->workspace_bytes(), repack) << describe(d);
    check_cuda(problem, Algorithm::kMec, stream_);
  }
  // kMec's rule on products of 128 x 128 and 128 x 96 FFMA tiles at batch 1:
  // 64-wide tiles from src for k = 128, L for k = 96 and 256 (and with TF32,
  // src: no spills there).
  for (int64_t k : {96, 128, 256}) {
    const Conv2dDesc wide = ConvTester().input(48, 48).channels(16, k).kernel(3, 3).pad(1).desc();
    for (bool tf32 : {false, true}) {
      ctx.set_allow_tf32(tf32);
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
      EXPECT_EQ(plan->workspace_bytes() == 0, k == 128 || tf32) << k << " " << tf32;
    }
    ctx.set_allow_tf32(false);
    check_cuda(Problem(wide, true, 31), Algorithm::kMec, stream_);
  }
  // Products of a batch (>= 65536 rows, where our kernel over L stops
  // beating cuBLAS unless it reads src), here with outputs wider
  // than the kernel's q <= 64 over L: the kernel from src for k <= 128
  // (the 128 x 128 tile that spills; 128 x 64 for the RGB kernel rows), L
  // and cuBLAS for wider ones and with CudaFromSrc::kNever; with TF32 L and
  // cuBLAS, but the kernel from src for the RGB layers.
  const Conv2dDesc batch64 =
      ConvTester().batch(4).input(128, 128).channels(16, 128).kernel(3, 3).pad(1).desc();
  const Conv2dDesc batch_rgb =
      ConvTester().batch(8).input(184, 184).channels(3, 64).kernel(7, 7).pad(3).stride(2).desc();
  for (const Conv2dDesc& big : {batch64, batch_rgb}) {
    for (int64_t k : {big.k, int64_t(256)}) {
      Conv2dDesc wide = big;
      wide.k = k;
      for (bool tf32 : {false, true}) {
        ctx.set_allow_tf32(tf32);
        std::unique_ptr<Conv2dPlan> plan;
        ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
        // With TF32 the RGB layers always go from src: the runs cursor.
        const bool rgb = wide.c == 3;
        EXPECT_EQ(plan->workspace_bytes() == 0, tf32 ? rgb : k <= 128) << describe(wide) << tf32;
      }
      ctx.set_allow_tf32(false);
      ctx.set_cuda_from_src(CudaFromSrc::kNever);
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(wide, Algorithm::kMec, ctx, &plan), Status::kSuccess);
      ctx.set_cuda_from_src(CudaFromSrc::kAuto);
      EXPECT_GT(plan->workspace_bytes(), 0u) << describe(wide);
    }
  }
  check_cuda(Problem(batch64, true, 37), Algorithm::kMec, stream_);
  // In place: dst over src (here the same size) is refused, not computed wrong.
  Conv2dDesc d = ConvTester().input(6, 6).channels(16, 16).kernel(3, 3).pad(1).desc();
  std::unique_ptr<Conv2dPlan> plan;
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  ASSERT_EQ(plan->workspace_bytes(), 0u);
  DeviceBuffer buf(d.src_elems() * 4), w(d.weight_elems() * 4);
  EXPECT_EQ(plan->run(buf.get(), w.get(), nullptr, buf.get(), nullptr, 0),
            Status::kInvalidArgument);
  EXPECT_NE(std::string(last_error()).find("overlap"), std::string::npos) << last_error();
}

// Solution B over cuBLAS's batched GEMMs (CudaGemm::kCublas) with TF32
// allowed: TF32 only where every pointer in the arrays and every leading
// dimension is 16-byte aligned (cuBLAS cannot check the pointers) - as on
// the RGB layers at stride 4, whose windows of L are aligned though s*c =
// 33 is not (cv1 runs on tensor cores) - fp32 where a window, a
// kernel row (dilation_h) in L or in OHWI weights, k or dst is not; each
// right, and memcheck sees no misaligned access. (Where TF32 is allowed,
// cuBLAS may still pick an fp32 kernel for a small product: kEither.)
TEST_F(CudaAlgorithms, MecBatchedCublasTf32) {
  enum class Math { kTensorCores, kFp32, kEither };
  struct Case {
    ConvTester tester;
    Math math;
  };
  const Case cases[] = {
      {ConvTester().input(227, 227).channels(3, 96).kernel(11, 11).stride(4), Math::kTensorCores},
      {ConvTester().batch(2).input(23, 23).channels(3, 64).kernel(7, 7).stride(2),
       Math::kFp32},  // windows 42 floats apart
      {ConvTester().input(64, 60).channels(8, 16).kernel(3, 3).pad(2).dilation(2, 1),
       Math::kEither},
      {ConvTester().input(13, 12).channels(3, 16).kernel(3, 3).pad(2).dilation(2, 1), Math::kFp32},
      {ConvTester().input(60, 60).channels(16, 32).kernel(3, 3).pad(1).layout(FilterLayout::kOHWI),
       Math::kEither},
      {ConvTester().input(10, 10).channels(8, 18).kernel(3, 3).pad(1), Math::kFp32},  // k = 18
      // aligned windows, but the dilated kernel rows are 66 floats apart
      {ConvTester().input(227, 227).channels(3, 96).kernel(11, 11).stride(4).dilation(2, 1),
       Math::kFp32},
      // OHWI: a dilated kernel row steps 6 floats through the weights
      {ConvTester().input(40, 40).channels(2, 16).kernel(2, 3).stride(2, 1).dilation(2, 1).layout(
           FilterLayout::kOHWI),
       Math::kFp32},
  };
  for (const Case& c : cases) {
    Problem problem(c.tester.desc(), true, 41);
    const double err =
        check_cuda(problem, Algorithm::kMecB, stream_, {.tf32 = true, .gemm = CudaGemm::kCublas});
    const bool fp32_error = err <= tolerance(Algorithm::kMecB, false);
    if (c.math != Math::kEither) {
      EXPECT_EQ(fp32_error, c.math == Math::kFp32) << describe(problem.desc);
    }
    const double misaligned =
        check_cuda(problem, Algorithm::kMecB, stream_,
                   {.tf32 = true, .misalign_floats = 1, .gemm = CudaGemm::kCublas});
    EXPECT_LE(misaligned, tolerance(Algorithm::kMecB, false)) << describe(problem.desc);
  }
}

// The shallow-window kernel (r*s*c <= 32, mec_shallow.h) at every window
// depth it unrolls (1..8 quads of 4), tiles of 128 and 64 windows (64
// fill a second round of blocks on narrow layers), odd and wide k, outputs
// narrower than a warp's 8 rows (the row walk wraps over y and images), padding,
// stride and dilation_w; packed (HWIO on the device: the kernel) and raw
// weights; kMec reading the windows from L and from src (no
// workspace then but the OIHW repack), by its rule and forced.
TEST_F(CudaAlgorithms, MecShallowKernel) {
  const ConvTester cases[] = {
      ConvTester().batch(3).input(23, 21).channels(3, 64).kernel(3, 3).pad(1),
      ConvTester().batch(2).input(17, 20).channels(3, 5).kernel(3, 3).pad(0, 1, 0, 1).stride(2),
      ConvTester().batch(2).input(15, 16).channels(1, 32).kernel(5, 5).pad(2).dilation(1, 2),
      ConvTester().input(12, 10).channels(2, 130).kernel(4, 4).pad(1, 2, 2, 1),
      ConvTester().batch(2).input(9, 8).channels(4, 512).kernel(2, 2).stride(1, 2),
      ConvTester().batch(33).input(5, 5).channels(1, 7).kernel(1, 1),
      ConvTester().batch(33).input(6, 6).channels(3, 96).kernel(3, 3).bias(false),
      ConvTester().batch(2).input(11, 9).channels(2, 24).kernel(2, 2),             // K = 8
      ConvTester().input(13, 14).channels(1, 40).kernel(3, 4).pad(1),              // 12
      ConvTester().batch(3).input(10, 10).channels(5, 66).kernel(2, 2).stride(2),  // 20
      ConvTester().input(16, 15).channels(3, 48).kernel(2, 4).pad(0, 1, 1, 2),     // 24
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), true, 23);
      // kAuto: kMec's rule, src at any batch.
      for (CudaFromSrc from_src :
           {CudaFromSrc::kAuto, CudaFromSrc::kNever, CudaFromSrc::kWhereverItFits}) {
        // Tiles of 128 and 64 windows (CudaTile's m), and the rule's.
        for (CudaTile tile : {CudaTile{}, CudaTile{128, 128}, CudaTile{64, 64}}) {
          for (Algorithm a : {Algorithm::kMec, Algorithm::kMecB}) {
            const double err =
                check_cuda(problem, a, stream_, {.tile = tile, .from_src = from_src});
            const double packed_err = check_cuda(
                problem, a, stream_, {.packed = true, .tile = tile, .from_src = from_src});
            EXPECT_LE(std::max(err, packed_err), tolerance(a, false))
                << tile_name(tile) << " " << describe(problem.desc);
          }
        }
        Context ctx;
        ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
        ctx.set_cuda_from_src(from_src);
        std::unique_ptr<Conv2dPlan> plan;
        const Conv2dDesc& d = problem.desc;
        ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
        const size_t repack = layout == FilterLayout::kOIHW ? d.weight_elems() * 4 : 0;
        EXPECT_EQ(plan->workspace_bytes() == repack, from_src != CudaFromSrc::kNever)
            << describe(d);
      }
    }
  }
}

// MEC's grouped kernel (mec_grouped.h: groups with cg * kg <= 4) on the
// shapes it exists for - depthwise 3x3 with stride and asymmetric padding,
// 3x5 with dilation (the run-time kernel size), 5x5 and 7x7, a channel
// multiplier, 2 x 2 groups, a batch above 32 - in every weight layout,
// packed and not, and the same problems through cuBLAS (CudaGemm::kCublas),
// so both paths stay correct.
TEST_F(CudaAlgorithms, MecGroupedKernel) {
  // groups = channels unless given.
  auto dw = [](int64_t n, int64_t h, int64_t w, int64_t c, int64_t r, int64_t s) {
    return ConvTester().batch(n).input(h, w).channels(c, c).kernel(r, s).groups(c);
  };
  const ConvTester cases[] = {
      dw(3, 14, 15, 24, 3, 3).pad(0, 1, 0, 1).stride(2),
      dw(2, 17, 13, 8, 3, 5).pad(2).dilation(2, 3),
      dw(1, 9, 11, 6, 3, 3).channels(6, 12).pad(1),  // multiplier 2
      dw(2, 12, 10, 16, 3, 3).groups(8).pad(1).stride(1, 2),
      dw(1, 11, 9, 12, 5, 5).pad(2),
      dw(33, 7, 7, 20, 7, 7).pad(3),
  };
  for (const ConvTester& tester : cases) {
    for (FilterLayout layout : {FilterLayout::kHWIO, FilterLayout::kOHWI, FilterLayout::kOIHW}) {
      Problem problem(ConvTester(tester).layout(layout).desc(), layout != FilterLayout::kOHWI, 7);
      for (CudaGemm gemm : {CudaGemm::kAuto, CudaGemm::kCublas}) {
        for (Algorithm a : {Algorithm::kMec, Algorithm::kMecB}) {
          check_cuda(problem, a, stream_, {.gemm = gemm});
          check_cuda(problem, a, stream_, {.packed = true, .gemm = gemm});
        }
      }
    }
  }
}

// kMec: Solution B when our fused GEMM kernel applies (dilation_h == 1,
// one group or groups of >= 64 channels; strict fp32 or TF32) - but A with
// TF32 on a batch of narrow outputs; otherwise by the threshold T and
// |O| <= |L|, as on CPU (shown here with dilation 2).
TEST_F(CudaAlgorithms, MecChoosesByThreshold) {
  Conv2dDesc d;
  std::string e;
  ASSERT_TRUE(parse_shape("n2h20w20c8k4r3s3", &d, &e)) << e;
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  EXPECT_GT(ctx.mec_threshold(), 0);
  std::unique_ptr<Conv2dPlan> plan;
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    ctx.set_mec_threshold(d.q());
    ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    EXPECT_EQ(plan->algorithm(), Algorithm::kMecB) << tf32;
  }
  // With TF32, a batch of narrow outputs (q <= 28, n*p*q >= 4096): A.
  Conv2dDesc batch = d;
  batch.n = 16;  // 16 * 18 * 18 rows
  ctx.set_mec_threshold(1);
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    ASSERT_EQ(Conv2dPlan::create(batch, Algorithm::kMec, ctx, &plan), Status::kSuccess);
    EXPECT_EQ(plan->algorithm(), tf32 ? Algorithm::kMecA : Algorithm::kMecB) << tf32;
  }
  ctx.set_allow_tf32(false);
  d.dilation_h = d.dilation_w = 2;  // q = 16; our kernel needs dilation_h == 1
  expect_mec_threshold_rule(d, ctx);
  // Groups (here 2 of 4 x 2 channels, too big for the grouped kernel): B,
  // one batched cuBLAS call for all groups, whatever T says.
  d.k = 4;
  d.groups = 2;
  ctx.set_mec_threshold(1000);
  ASSERT_EQ(Conv2dPlan::create(d, Algorithm::kMec, ctx, &plan), Status::kSuccess);
  EXPECT_EQ(plan->algorithm(), Algorithm::kMecB);
}

// Conv2dPlan::variant() names the path a CUDA plan runs: every algorithm's
// string starts with its concrete name and ends with its GEMMs' math; MEC's
// paths - the shallow kernel over L and from src, the grouped kernel, our
// GEMM kernel with a forced tile and split, cuBLAS's batched B for OHWI
// weights, cuBLAS's A with its reordering - each by name.
TEST_F(CudaAlgorithms, Variants) {
  Context ctx;
  ASSERT_EQ(Context::cuda(&ctx, stream_), Status::kSuccess) << last_error();
  auto variant = [&](const Conv2dDesc& d, Algorithm a) {
    std::unique_ptr<Conv2dPlan> plan;
    EXPECT_EQ(Conv2dPlan::create(d, a, ctx, &plan), Status::kSuccess) << last_error();
    return plan ? std::string(plan->variant()) : std::string();
  };
  auto starts = [](const std::string& v, const std::string& prefix) {
    return v.compare(0, prefix.size(), prefix) == 0;
  };
  const Conv2dDesc basic = ConvTester().batch(2).input(12, 12).channels(8, 16).kernel(3, 3).desc();
  for (bool tf32 : {false, true}) {
    ctx.set_allow_tf32(tf32);
    for (Algorithm a : {Algorithm::kDirect, Algorithm::kIm2col, Algorithm::kMec, Algorithm::kMecA,
                        Algorithm::kMecB, Algorithm::kFft, Algorithm::kWinograd}) {
      std::unique_ptr<Conv2dPlan> plan;
      ASSERT_EQ(Conv2dPlan::create(basic, a, ctx, &plan), Status::kSuccess) << last_error();
      const std::string v = plan->variant(), name = algorithm_name(plan->algorithm());
      EXPECT_TRUE(starts(v, name + "/")) << v;
      const bool fp32_end = v.size() > 5 && v.compare(v.size() - 5, 5, "/fp32") == 0;
      const bool tf32_end = v.size() > 5 && v.compare(v.size() - 5, 5, "/tf32") == 0;
      EXPECT_TRUE(fp32_end || (tf32 && tf32_end)) << v;
    }
  }
  ctx.set_allow_tf32(false);
  const Conv2dDesc rgb = ConvTester().input(23, 21).channels(3, 64).kernel(3, 3).pad(1).desc();
  EXPECT_TRUE(starts(variant(rgb, Algorithm::kMec), "mec_b/shallow-src/rows"))
      << variant(rgb, Algorithm::kMec);
  EXPECT_TRUE(starts(variant(rgb, Algorithm::kMecB), "mec_b/shallow-l/rows"));
  const Conv2dDesc dw =
      ConvTester().batch(2).input(14, 15).channels(24, 24).kernel(3, 3).groups(24).desc();
  EXPECT_EQ(variant(dw, Algorithm::kMecB), "mec_b/grouped/fp32");
  const ConvTester deep = ConvTester().input(9, 11).channels(36, 130).kernel(3, 3).pad(1);
  ctx.set_cuda_tile({64, 64, 3});
  EXPECT_EQ(variant(deep.desc(), Algorithm::kMecB), "mec_b/kernel-l/64x64/split3/fp32");
  ctx.set_cuda_tile({});
  EXPECT_EQ(variant(ConvTester(deep).layout(FilterLayout::kOHWI).desc(), Algorithm::kMecB),
            "mec_b/cublas-b/fp32");
  EXPECT_EQ(variant(basic, Algorithm::kMecA), "mec_a/cublas-a/reorder-l/fp32");
}

}  // namespace
}  // namespace testing
}  // namespace mec
