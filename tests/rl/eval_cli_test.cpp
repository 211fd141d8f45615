// `frugal eval` end to end on a tiny random model: the JSON report's fields
// and their consistency, the text report, problems files (strict and
// lenient), and the errors a user can cause.
#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;

const std::string& model_dir() {
  static const std::string dir = [] {
    const std::string out = test::make_temp_dir() + "/model";
    const auto result = test::run_frugal("init --preset tiny --seed 5 --tokenizer '" + test::deepseek_tokenizer_dir() +
                                         "' --out '" + out + "'");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return out;
  }();
  return dir;
}

json run_json(const std::string& arguments) {
  const auto result = test::run_frugal("eval --model '" + model_dir() + "' " + arguments + " --json", false);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return json::parse(result.output);
}

void expect_consistent_rate(const json& out, const char* rate, const char* count) {
  const auto n = out["n"].get<int64_t>(), k = out[count].get<int64_t>();
  EXPECT_GE(k, 0);
  EXPECT_LE(k, n);
  EXPECT_DOUBLE_EQ(out[rate].get<double>(), static_cast<double>(k) / static_cast<double>(n));
  const auto ci = out[std::string(rate) + "_ci95"].get<std::vector<double>>();
  ASSERT_EQ(ci.size(), 2u);
  EXPECT_GE(ci[0], 0.0);
  EXPECT_LE(ci[0], out[rate].get<double>());
  EXPECT_GE(ci[1], out[rate].get<double>());
  EXPECT_LE(ci[1], 1.0);
}

TEST(EvalCli, ReportsConsistentFiguresAsJson) {
  const json out = run_json("--task add --n 6 --seed 3 --digits 1-2 --max-tokens 8 --threads 1 --show 2");
  EXPECT_EQ(out["task"], "add");
  EXPECT_EQ(out["template"], "compact");
  EXPECT_EQ(out["n"], 6);
  EXPECT_EQ(out["seed"], 3);
  EXPECT_EQ(out["min_difficulty"], 1);
  EXPECT_EQ(out["max_difficulty"], 2);
  EXPECT_EQ(out["max_tokens"], 8);
  EXPECT_EQ(out["skipped_lines"], 0);
  expect_consistent_rate(out, "accuracy", "correct");
  expect_consistent_rate(out, "format_rate", "well_formed");
  const double mean = out["mean_completion_tokens"].get<double>();
  EXPECT_GE(mean, 0.0);
  EXPECT_LE(mean, 8.0);
  EXPECT_GT(out["problems_per_second"].get<double>(), 0.0);
  ASSERT_EQ(out["examples"].size(), 2u);
  const json& first = out["examples"][0];
  EXPECT_EQ(first["id"].get<std::string>().rfind("add/s3/i0/d", 0), 0u);
  EXPECT_EQ(first["prompt"].get<std::string>().rfind("Compute ", 0), 0u);
  EXPECT_LE(first["tokens"].get<int64_t>(), 8);
  EXPECT_TRUE(first["correct"].is_boolean());
  EXPECT_TRUE(first.contains("completion") && first.contains("expected") && first.contains("stop_reason"));

  // The same flags give the same problems and the same greedy completions.
  const json again = run_json("--task add --n 6 --seed 3 --digits 1-2 --max-tokens 8 --threads 1 --show 2");
  EXPECT_EQ(again["examples"], out["examples"]);
}

TEST(EvalCli, QuantisedWeightsAndCacheRunTheSameProblems) {
  const json q8 = run_json("--task add --n 4 --seed 3 --max-tokens 6 --weights q8 --kv-cache q8 --show 4");
  const json q4 = run_json("--task add --n 4 --seed 3 --max-tokens 6 --weights q4 --show 4");
  EXPECT_EQ(q8["weights"], "q8");
  EXPECT_EQ(q8["kv_cache"], "q8");
  EXPECT_EQ(q4["weights"], "q4");
  for (int i = 0; i < 4; ++i) EXPECT_EQ(q8["examples"][i]["prompt"], q4["examples"][i]["prompt"]);
  expect_consistent_rate(q4, "accuracy", "correct");
}

TEST(EvalCli, CountdownWithTheR1ZeroTemplateAndTextReport) {
  const json out = run_json("--task countdown --n 2 --numbers 3 --max-number 20 --template r1-zero --max-tokens 4");
  EXPECT_EQ(out["task"], "countdown");
  EXPECT_EQ(out["template"], "r1-zero");
  EXPECT_EQ(out["min_difficulty"], 3);
  EXPECT_EQ(out["max_difficulty"], 3);
  expect_consistent_rate(out, "accuracy", "correct");

  const auto text = test::run_frugal("eval --model '" + model_dir() + "' --task mul --n 2 --max-tokens 4 --show 1", false);
  ASSERT_EQ(text.exit_code, 0) << text.output;
  for (const char* part : {"--- mul/s0/i0/", "prompt:     Compute ", "task mul (difficulty 1-3), 2 problems, seed 0",
                           "accuracy ", "format rate ", "mean completion tokens ", "95% CI [", "problems/s"})
    EXPECT_NE(text.output.find(part), std::string::npos) << part << " missing in\n" << text.output;
}

TEST(EvalCli, ProblemsFileStrictAndLenient) {
  const std::string dir = test::make_temp_dir();
  const std::string path = dir + "/problems.jsonl";
  test::write_bytes(path,
                    "{\"prompt\": \"Compute 1 + 1\", \"answer\": \"2\"}\n"
                    "{\"prompt\": \"Compute 2 + 2\"}\n"
                    "{\"prompt\": \"Compute 3 + 3\", \"answer\": 6}\n");
  const auto strict = test::run_frugal("eval --model '" + model_dir() + "' --problems '" + path + "' --max-tokens 4");
  EXPECT_EQ(strict.exit_code, 1);
  EXPECT_FALSE(strict.crashed);
  EXPECT_NE(strict.output.find(path + ":2: missing field \"answer\""), std::string::npos) << strict.output;

  // stdout and stderr together: the warning line, then the JSON line.
  const auto lenient =
      test::run_frugal("eval --model '" + model_dir() + "' --problems '" + path + "' --skip-bad-lines --max-tokens 4 --json");
  ASSERT_EQ(lenient.exit_code, 0) << lenient.output;
  EXPECT_NE(lenient.output.find("warning: skipped " + path + ":2: missing field \"answer\""), std::string::npos)
      << lenient.output;
  const std::size_t json_start = lenient.output.find("\n{");
  ASSERT_NE(json_start, std::string::npos) << lenient.output;
  const json out = json::parse(lenient.output.substr(json_start + 1));
  EXPECT_EQ(out["task"], "file");
  EXPECT_EQ(out["problems_file"], path);
  EXPECT_EQ(out["n"], 2);
  EXPECT_EQ(out["skipped_lines"], 1);
  expect_consistent_rate(out, "accuracy", "correct");
}

TEST(EvalCli, UserErrorsAreClearMessages) {
  struct Case {
    std::string arguments;
    std::string message;
  };
  for (const Case& c : std::vector<Case>{
           {"--task divide", "unknown task \"divide\" (known: add, sub, mul, countdown)"},
           {"--task countdown --digits 2", "task countdown does not use the option digits"},
           {"--task add --digits 3-1", "--digits: the range 3-1 runs backwards"},
           {"--task add --digits x", "--digits: \"x\" is not a range"},
           {"--task add --digits 0-30", "digits must be a range inside 1-18"},
           {"--task add --n 0", "--n must be at least 1"},
           {"", "give exactly one of --task and --problems"},
           {"--task add --problems /tmp/x.jsonl", "give exactly one of --task and --problems"},
           {"--problems /nonexistent.jsonl", "/nonexistent.jsonl: no such problems file"},
           {"--problems /nonexistent.jsonl --seed 3", "apply to --task, not --problems"},
           {"--task add --skip-bad-lines", "--skip-bad-lines applies to --problems"},
       }) {
    const auto r = test::run_frugal("eval --model '" + model_dir() + "' " + c.arguments);
    EXPECT_EQ(r.exit_code, 1) << c.arguments << "\n" << r.output;
    EXPECT_FALSE(r.crashed);
    EXPECT_NE(r.output.find(c.message), std::string::npos) << c.arguments << "\n" << r.output;
  }
  const auto bad_template = test::run_frugal("eval --model '" + model_dir() + "' --task add --template chatml");
  EXPECT_NE(bad_template.exit_code, 0);
  EXPECT_NE(bad_template.output.find("--template"), std::string::npos) << bad_template.output;
}

}  // namespace
}  // namespace frugal
