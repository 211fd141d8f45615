// Training quantities against the v3-tiny float64 goldens (MANIFEST
// "Training goldens"): losses, every gradient, the aux-loss-free bias update
// and one AdamW step fed the golden gradients.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/io/safetensors.h"
#include "frugal/train/adamw.h"
#include "frugal/train/routing_bias.h"
#include "frugal/train/trainable_model.h"
#include "support/golden.h"
#include "support/golden_compare.h"

namespace frugal {
namespace {

using test::golden_dir;

constexpr double kLossRel = 1e-6;
constexpr float kGradRel = 2e-5f;

class V3TinyTraining : public testing::Test {
 protected:
  V3TinyTraining()
      : store_(ParameterStore::load(golden_dir("v3-tiny") + "/checkpoint")),
        golden_(golden_dir("v3-tiny") + "/golden.safetensors") {}

  double golden_scalar(const std::string& name) const { return golden_.get(name).to_f32().at(0); }

  StepLosses run_forward_backward() {
    TrainableModel model(store_);
    LossOptions options;  // lambda 0.3, alpha 1e-4, as the goldens
    options.balance_in_loss = false;
    return model.forward_backward(test::golden_sequences("v3-tiny"), options);
  }

  ParameterStore store_;
  SafetensorsFile golden_;
};

TEST_F(V3TinyTraining, LossesMatchGolden) {
  const StepLosses losses = run_forward_backward();
  EXPECT_NEAR(losses.ce, golden_scalar("loss.ce"), kLossRel * golden_scalar("loss.ce"));
  EXPECT_NEAR(losses.mtp, golden_scalar("loss.mtp"), kLossRel * golden_scalar("loss.mtp"));
  EXPECT_NEAR(losses.total, golden_scalar("loss.total"), kLossRel * golden_scalar("loss.total"));
  EXPECT_NEAR(losses.balance, golden_scalar("loss.balance"), kLossRel * golden_scalar("loss.balance"));
  EXPECT_EQ(losses.ce_tokens, 36 + 99);
  EXPECT_EQ(losses.mtp_tokens, 35 + 98);
}

TEST_F(V3TinyTraining, EveryGradientMatchesGolden) {
  run_forward_backward();
  int compared = 0;
  for (const Parameter& p : store_.all()) {
    if (!p.trainable()) {
      EXPECT_EQ(golden_.find("grad." + p.name), nullptr) << p.name;
      continue;
    }
    test::expect_close_rel(golden_.get("grad." + p.name), p.grad, kGradRel);
    ++compared;
  }
  EXPECT_EQ(compared, 263);
}

TEST_F(V3TinyTraining, BiasUpdateMatchesGolden) {
  const StepLosses losses = run_forward_backward();
  for (const auto& [layer, load] : losses.expert_loads) {
    if (layer > 3) continue;  // the goldens give the main model's layers
    const std::string prefix = "bias_update.layer" + std::to_string(layer);
    const std::vector<float> want_load = golden_.get(prefix + ".load").to_f32();
    ASSERT_EQ(want_load.size(), load.size());
    for (std::size_t e = 0; e < load.size(); ++e) EXPECT_EQ(static_cast<float>(load[e]), want_load[e]) << prefix;
  }
  update_routing_bias(store_, losses.expert_loads, 0.001);
  for (int layer = 1; layer <= 3; ++layer) {
    const std::string prefix = "bias_update.layer" + std::to_string(layer);
    const Parameter& bias = store_.get("model.layers." + std::to_string(layer) + ".mlp.gate.e_score_correction_bias");
    test::expect_close_abs(golden_.get(prefix + ".bias_after"), bias.value, 1e-7f);
  }
}

TEST_F(V3TinyTraining, AdamWStepFromGoldenGradientsMatchesGolden) {
  for (Parameter& p : store_.all())
    if (p.trainable()) p.grad = golden_.get("grad." + p.name).to_f32();
  AdamWOptions options;
  options.decay = DecayRule::All;  // the goldens decay every tensor
  AdamW optimizer(store_, options);
  optimizer.step(1e-3);
  for (const Parameter& p : store_.all())
    if (p.trainable()) test::expect_close_abs(golden_.get("adamw." + p.name), p.value, 1e-6f);
}

TEST(GradCommand, WritesLossesAndGradientsMatchingGolden) {
  const std::string out = test::make_temp_dir() + "/grad.safetensors";
  const test::CommandResult result = test::run_frugal("grad --model " + golden_dir("v3-tiny") + "/checkpoint --inputs " +
                                                      golden_dir("v3-tiny") + "/inputs.json --out " + out + " --threads 2");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const SafetensorsFile written(out);
  const SafetensorsFile golden(golden_dir("v3-tiny") + "/golden.safetensors");
  for (const char* loss : {"loss.ce", "loss.mtp", "loss.total", "loss.balance"}) {
    const double want = golden.get(loss).to_f32().at(0);
    ASSERT_EQ(written.get(loss).shape, std::vector<int64_t>{1});
    EXPECT_NEAR(written.get(loss).to_f32().at(0), want, kLossRel * want) << loss;
  }
  int gradients = 0;
  for (const auto& [name, view] : written.tensors()) {
    if (name.rfind("grad.", 0) != 0) continue;
    test::expect_close_rel(golden.get(name), view.to_f32(), kGradRel);
    ++gradients;
  }
  EXPECT_EQ(gradients, 263);
}

TEST(GradCommand, RejectsBadInputsNamingTheProblem) {
  const std::string dir = test::make_temp_dir();
  const std::string model = golden_dir("v3-tiny") + "/checkpoint";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{\"sequences\": [[1, 2, \"x\"]]}", "sequence 0, element 2"},
      {"{\"seqs\": []}", "no \"sequences\" field"},
      {"{\"sequences\": [[1, 2, 99999]]}", "outside the vocabulary"},
      {"{\"sequences\": [[7]]}", "at least 2 tokens"},
      {"[[1, 2", "not valid JSON"},
  };
  for (const auto& [text, message] : cases) {
    test::write_bytes(dir + "/inputs.json", text);
    const test::CommandResult result =
        test::run_frugal("grad --model " + model + " --inputs " + dir + "/inputs.json --out " + dir + "/g.safetensors");
    EXPECT_EQ(result.exit_code, 1) << text;
    EXPECT_NE(result.output.find(message), std::string::npos) << text << " -> " << result.output;
  }
  EXPECT_TRUE(test::temp_files_in(dir).empty());
}

}  // namespace
}  // namespace frugal
