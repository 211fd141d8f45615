// `frugal generate`, `frugal chat` and `frugal tokenize` driven as a user
// would: greedy decoding against the argmax of `frugal logits`, seeded
// reproducibility, stop strings, a scripted chat session, JSONL tokenizing.
#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/io/safetensors.h"
#include "support/golden.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;

json run_json(const std::string& arguments) {
  const auto result = test::run_frugal(arguments, /*stderr_too=*/false);
  EXPECT_EQ(result.exit_code, 0) << result.output;
  return json::parse(result.output);
}

std::string ids_flag(const std::vector<int32_t>& ids) {
  std::string out;
  for (int32_t id : ids) {
    if (!out.empty()) out += ',';
    out += std::to_string(id);
  }
  return out;
}

// A tiny random model that uses the DeepSeek-V3 tokenizer, made once per process.
const std::string& text_model() {
  static const std::string dir = [] {
    const std::string out = test::make_temp_dir() + "/model";
    const auto result = test::run_frugal("init --preset tiny --seed 7 --tokenizer '" + test::deepseek_tokenizer_dir() +
                                         "' --out '" + out + "'");
    EXPECT_EQ(result.exit_code, 0) << result.output;
    return out;
  }();
  return dir;
}

TEST(GenerateCli, GreedyTokensAreTheArgmaxOfLogitsAtEveryStep) {
  const std::string model = test::golden_dir("v3-tiny") + "/checkpoint";
  const std::vector<int32_t> prompt = {456, 304, 65, 232, 465};
  const json out = run_json("generate --model '" + model + "' --ids " + ids_flag(prompt) +
                            " --greedy --ignore-eos --max-tokens 12 --json");
  const auto generated = out["ids"].get<std::vector<int32_t>>();
  ASSERT_EQ(generated.size(), 12u);

  std::vector<int32_t> sequence = prompt;
  sequence.insert(sequence.end(), generated.begin(), generated.end() - 1);
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/inputs.json", json({{"sequences", {sequence}}}).dump());
  const auto result = test::run_frugal("logits --model '" + model + "' --inputs '" + dir + "/inputs.json' --out '" +
                                       dir + "/logits.safetensors'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  const std::vector<float> logits = SafetensorsFile(dir + "/logits.safetensors").get("logits.seq0").to_f32();
  for (std::size_t i = 0; i < generated.size(); ++i) {
    const float* row = logits.data() + (prompt.size() - 1 + i) * 512;
    const auto argmax = static_cast<int32_t>(std::max_element(row, row + 512) - row);
    EXPECT_EQ(generated[i], argmax) << "step " << i;
  }
}

TEST(GenerateCli, TheSameSeedGivesTheSameOutput) {
  const std::string args = "generate --model '" + text_model() + "' --prompt 'Once upon a time' --temperature 1.0 "
                           "--top-p 0.95 --max-tokens 16 --ignore-eos --json";
  const json a = run_json(args + " --seed 11"), b = run_json(args + " --seed 11"), c = run_json(args + " --seed 12");
  EXPECT_EQ(a["ids"], b["ids"]);
  EXPECT_EQ(a["text"], b["text"]);
  EXPECT_NE(a["ids"], c["ids"]);
  EXPECT_EQ(a["seed"].get<uint64_t>(), 11u);
  // The text is the decoding of the ids; the prompt got BOS (add_bos_token).
  EXPECT_EQ(a["text"].get<std::string>(), test::deepseek_tokenizer().decode(a["ids"].get<std::vector<int32_t>>()));
  EXPECT_EQ(a["prompt_ids"][0].get<int32_t>(), 0);
  // The default cache ("auto") is f32 at this short a context; asked for, q8.
  EXPECT_EQ(a["kv_cache"], "f32");
  EXPECT_EQ(run_json(args + " --seed 11 --kv-cache q8")["kv_cache"], "q8");
}

TEST(GenerateCli, StopStringsCutTheTextBeforeThem) {
  const std::string args = "generate --model '" + text_model() + "' --prompt 'The answer is' --greedy "
                           "--max-tokens 24 --ignore-eos --json";
  const std::string full = run_json(args)["text"].get<std::string>();
  ASSERT_GT(full.size(), 12u);
  // A stop string taken from the middle of the greedy text.
  std::size_t start = full.size() / 2;
  while (start < full.size() && (static_cast<unsigned char>(full[start]) & 0xC0) == 0x80) ++start;
  const std::string stop = full.substr(start, 3);
  const json cut = run_json(args + " --stop " + std::string("'") + stop + "'");
  EXPECT_EQ(cut["stop_reason"], "stop_string");
  EXPECT_EQ(cut["text"].get<std::string>(), full.substr(0, full.find(stop)));
}

TEST(GenerateCli, StreamsTextAndReportsFigures) {
  const auto result = test::run_frugal("generate --model '" + text_model() +
                                       "' --prompt 'Hello' --chat --max-tokens 8 --seed 3 --ignore-eos");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  for (const char* figure : {"prompt ", "generated 8 tokens", "tokens/s", "KV cache", "seed 3"})
    EXPECT_NE(result.output.find(figure), std::string::npos) << figure << "\n" << result.output;
}

TEST(GenerateCli, BadFlagsGiveClearErrors) {
  const std::string model = test::golden_dir("v3-tiny") + "/checkpoint";
  auto r = test::run_frugal("generate --model '" + model + "' --ids 1,x,3");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("--ids: \"x\" is not a non-negative integer"), std::string::npos) << r.output;
  r = test::run_frugal("generate --model '" + model + "' --prompt hi");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("no tokenizer.json"), std::string::npos) << r.output;
  r = test::run_frugal("generate --model '" + model + "' --ids 1,2 --top-p 0");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("top_p"), std::string::npos) << r.output;
  r = test::run_frugal("generate --model '" + model + "' --ids 1,2 --ctx 1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.output.find("context of 1"), std::string::npos) << r.output;
  EXPECT_FALSE(r.crashed);
}

TEST(ChatCli, KeepsHistoryResetsAndExits) {
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/input.txt", "Hello\nHow are you?\n/reset\nHi again\n/exit\nnever read\n");
  const auto result = test::run_frugal("chat --model '" + text_model() + "' --max-tokens 6 --seed 2 --ignore-eos < '" +
                                       dir + "/input.txt'");
  ASSERT_EQ(result.exit_code, 0) << result.output;
  EXPECT_NE(result.output.find("(conversation cleared)"), std::string::npos) << result.output;
  // Three replies; the second turn reuses the cached first turn.
  std::size_t replies = 0;
  for (std::size_t at = 0; (at = result.output.find("generated 6 tokens", at)) != std::string::npos; ++at) ++replies;
  EXPECT_EQ(replies, 3u) << result.output;
  EXPECT_EQ(result.output.find("never read"), std::string::npos);
}

TEST(TokenizeCli, JsonlLinesGetTheGoldenIds) {
  const std::string dir = test::make_temp_dir();
  std::istringstream chats(test::read_bytes(test::data_path("tokenizer/golden_chat.jsonl")));
  std::istringstream texts(test::read_bytes(test::data_path("tokenizer/golden_encode.jsonl")));
  std::string input;
  std::vector<json> expected;
  for (std::string line; std::getline(chats, line);) {
    json c = json::parse(line);
    expected.push_back(c);
    input += json({{"messages", c["messages"]}, {"add_generation_prompt", c["add_generation_prompt"]}}).dump() + "\n";
  }
  for (std::string line; std::getline(texts, line) && expected.size() < 140;) {
    json c = json::parse(line);
    expected.push_back(c);
    input += json({{"text", c["text"]}, {"add_special_tokens", c["add_special_tokens"]}}).dump() + "\n";
  }
  test::write_bytes(dir + "/in.jsonl", input);
  const auto result = test::run_frugal("tokenize --tokenizer '" + test::deepseek_tokenizer_dir() + "' --jsonl '" + dir +
                                       "/in.jsonl'", /*stderr_too=*/false);
  ASSERT_EQ(result.exit_code, 0) << result.output;
  std::istringstream out(result.output);
  std::size_t n = 0;
  for (std::string line; std::getline(out, line); ++n) {
    ASSERT_LT(n, expected.size());
    const json got = json::parse(line);
    EXPECT_EQ(got["ids"], expected[n]["ids"]) << line;
    EXPECT_EQ(got["text"], expected[n]["text"]) << line;
  }
  EXPECT_EQ(n, expected.size());
}

TEST(TokenizeCli, AMalformedLineIsReportedWithItsNumber) {
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/in.jsonl", "{\"text\": \"fine\"}\n{\"text\": 5}\n");
  const auto result = test::run_frugal("tokenize --tokenizer '" + test::deepseek_tokenizer_dir() + "' --jsonl '" + dir +
                                       "/in.jsonl'");
  EXPECT_EQ(result.exit_code, 1);
  EXPECT_NE(result.output.find("in.jsonl:2"), std::string::npos) << result.output;
  EXPECT_NE(result.output.find("{\"text\":\"fine\",\"ids\":[86453]}"), std::string::npos) << result.output;  // line 1 went through
}

}  // namespace
}  // namespace frugal
