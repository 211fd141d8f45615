// frugal compare --reference REF.safetensors --candidate OUT.safetensors
//                [--tolerance T] [--relative]
// Per tensor present in both files: the largest absolute difference (and
// relative to the reference's largest magnitude). Exit 1 when a tensor is
// over the tolerance or shapes differ, so scripts can gate on it.
#include <cmath>
#include <cstdio>
#include <string>

#include "commands.h"
#include "frugal/io/safetensors.h"

namespace frugal::cli {
namespace {

struct CompareOptions {
  std::string reference;
  std::string candidate;
  double tolerance = -1.0;
  bool relative = false;
};

int run_compare(const CompareOptions& options) {
  const SafetensorsFile reference(options.reference);
  const SafetensorsFile candidate(options.candidate);
  int compared = 0, failed = 0;
  for (const auto& [name, want] : reference.tensors()) {
    const TensorView* got = candidate.find(name);
    if (got == nullptr || !dtype_is_float(want.dtype) || !dtype_is_float(got->dtype)) continue;
    ++compared;
    if (got->shape != want.shape) {
      std::printf("%-40s shape %s vs %s  MISMATCH\n", name.c_str(), want.shape_string().c_str(),
                  got->shape_string().c_str());
      ++failed;
      continue;
    }
    const std::vector<float> a = want.to_f32(), b = got->to_f32();
    double worst = 0.0, scale = 0.0;
    for (std::size_t i = 0; i < a.size(); ++i) {
      const double d = std::fabs(static_cast<double>(a[i]) - b[i]);
      if (!(d <= worst)) worst = d;  // NaN counts as the worst
      scale = std::fmax(scale, std::fabs(static_cast<double>(a[i])));
    }
    const double relative = scale > 0 ? worst / scale : worst;
    const double measured = options.relative ? relative : worst;
    const bool over = options.tolerance >= 0 && !(measured <= options.tolerance);
    failed += over;
    std::printf("%-40s max abs diff %.3e  relative %.3e%s\n", name.c_str(), worst, relative,
                over ? "  OVER TOLERANCE" : "");
  }
  std::printf("%d tensors compared, %d over tolerance or mismatched\n", compared, failed);
  if (compared == 0) {
    std::fprintf(stderr, "frugal: error: no floating-point tensor name is common to both files\n");
    return 1;
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace

Runner add_compare_command(CLI::App& app) {
  auto options = std::make_shared<CompareOptions>();
  CLI::App* command = app.add_subcommand("compare", "Compare the tensors two safetensors files share");
  command->add_option("--reference", options->reference, "Reference .safetensors file")->required();
  command->add_option("--candidate", options->candidate, "Candidate .safetensors file")->required();
  command->add_option("--tolerance", options->tolerance, "Fail (exit 1) above this difference");
  command->add_flag("--relative", options->relative,
                    "Apply the tolerance to the difference relative to the reference's max abs");
  return [options] { return run_compare(*options); };
}

}  // namespace frugal::cli
