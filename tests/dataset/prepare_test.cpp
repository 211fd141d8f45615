// prepare-data: text files -> documents (BOS + text + EOS) -> train and
// held-out splits, through the library and the CLI, with its errors.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/data/prepare.h"
#include "frugal/data/token_dataset.h"
#include "frugal/io/checkpoint.h"
#include "frugal/tokenizer/bpe_trainer.h"
#include "frugal/tokenizer/piece_counts.h"
#include "frugal/tokenizer/tokenizer_writer.h"
#include "frugal/tokenizer/tokenizer.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Views = std::vector<std::string_view>;

// 20 paragraphs, with extra blank lines and a whitespace-only part on the way.
std::vector<std::string> paragraphs() {
  std::vector<std::string> out;
  for (int i = 0; i < 20; ++i)
    out.push_back("Paragraph " + std::to_string(i) + ": the fox (" + std::string(i % 3 == 0 ? "日本語, " : "") +
                  "naïve 🙂) jumps.\nIts second line.");
  return out;
}

std::string corpus_file(const std::string& dir) {
  std::string text;
  const auto parts = paragraphs();
  for (std::size_t i = 0; i < parts.size(); ++i)
    text += parts[i] + (i == 5 ? "\n\n\n\n" : i == 9 ? "\n\n  \t\n\n" : "\n\n");
  const std::string path = dir + "/corpus.txt";
  test::write_bytes(path, text);
  return path;
}

// A small tokenizer trained on the paragraphs: quicker to load than
// DeepSeek's 7.8 MB tokenizer.json, for the tests that load one many times.
const std::string& small_tokenizer_dir() {
  static const std::string dir = [] {
    const auto specials = special_tokens_with_bos_eos({});
    PieceCounter counter(specials);
    for (const std::string& p : paragraphs()) counter.add_text(p);
    BpeTrainerOptions options;
    options.vocab_size = 300;
    const std::string out = test::make_temp_dir() + "/small-tokenizer";
    write_trained_tokenizer(train_bpe(counter.counts(), specials, options), out);
    return out;
  }();
  return dir;
}

// The documents of a split decoded back to text, without BOS and EOS.
std::vector<std::string> decoded_documents(const TokenDataset& split, const Tokenizer& tokenizer) {
  std::vector<std::string> out;
  for (int64_t d = 0; d < split.document_count(); ++d) {
    const auto ids = split.document(d);
    EXPECT_GE(ids.size(), 2u);
    EXPECT_EQ(ids.front(), *tokenizer.bos_id());
    EXPECT_EQ(ids.back(), *tokenizer.eos_id());
    out.push_back(tokenizer.decode(std::vector<int32_t>(ids.begin() + 1, ids.end() - 1)));
  }
  return out;
}

TEST(PrepareData, SplitsDocuments) {
  EXPECT_EQ(split_documents("a\n\nb\n\n\n\nc\n\n  \n\n", "\n\n"), (Views{"a", "b", "c"}));
  EXPECT_EQ(split_documents("a\n\n\nb", "\n\n"), (Views{"a", "b"}));  // leading line breaks go
  EXPECT_EQ(split_documents("  a\nb  \n", "\n\n"), (Views{"  a\nb  "}));  // spaces stay
  EXPECT_EQ(split_documents("x---y---", "---"), (Views{"x", "y"}));
  EXPECT_EQ(split_documents("\none\n\ntwo\n", ""), (Views{"one\n\ntwo"}));
  EXPECT_TRUE(split_documents(" \n\t\n", "").empty());
}

TEST(PrepareData, WritesSplitsOfWholeDocuments) {
  const std::string dir = test::make_temp_dir();
  PrepareOptions options;
  options.tokenizer = test::deepseek_tokenizer_dir();
  options.inputs = {corpus_file(dir)};
  options.out_dir = dir + "/data";
  options.held_out = 0.1;
  options.seed = 11;
  const PrepareSummary summary = prepare_data(options);
  EXPECT_EQ(summary.vocab_size, test::deepseek_tokenizer().vocab_size());
  EXPECT_EQ(summary.bos_id, 0);
  EXPECT_EQ(summary.eos_id, 1);
  EXPECT_EQ(summary.train.documents, 18);
  EXPECT_EQ(summary.heldout.documents, 2);  // round(0.1 x 20)

  const Tokenizer& tokenizer = test::deepseek_tokenizer();
  const TokenDataset train = TokenDataset::open(dir + "/data/train.safetensors");
  const TokenDataset heldout = TokenDataset::open(dir + "/data/heldout.safetensors");
  EXPECT_EQ(train.token_count(), summary.train.tokens);
  EXPECT_EQ(heldout.token_count(), summary.heldout.tokens);
  EXPECT_EQ(train.vocab_size(), tokenizer.vocab_size());

  // Every paragraph is in exactly one split, whole, in input order.
  const auto in_train = decoded_documents(train, tokenizer), in_heldout = decoded_documents(heldout, tokenizer);
  std::vector<std::string> expected_train, expected_heldout;
  for (const std::string& p : paragraphs()) {
    const bool held = std::find(in_heldout.begin(), in_heldout.end(), p) != in_heldout.end();
    (held ? expected_heldout : expected_train).push_back(p);
  }
  EXPECT_EQ(in_train, expected_train);
  EXPECT_EQ(in_heldout, expected_heldout);
  // The ids are the tokenizer's own encoding.
  const auto first = train.document(0);
  EXPECT_EQ(std::vector<int32_t>(first.begin() + 1, first.end() - 1), tokenizer.encode(expected_train[0]));

  const json data = json::parse(read_text_file(dir + "/data/data.json"));
  EXPECT_EQ(data["tokenizer"]["vocab_size"], tokenizer.vocab_size());
  EXPECT_EQ(data["tokenizer"]["bos_id"], 0);
  EXPECT_EQ(data["tokenizer"]["eos_id"], 1);
  EXPECT_EQ(data["splits"]["train"]["tokens"], summary.train.tokens);
  EXPECT_EQ(data["splits"]["train"]["documents"], 18);
  EXPECT_EQ(data["splits"]["heldout"]["file"], "heldout.safetensors");
  EXPECT_EQ(data["splits"]["heldout"]["documents"], 2);
  EXPECT_EQ(data["inputs"], json::array({options.inputs[0]}));
  EXPECT_EQ(data["seed"], 11);
  EXPECT_EQ(data["held_out"], 0.1);
  EXPECT_EQ(data["document_separator"], "\n\n");
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    EXPECT_EQ(test::read_bytes(dir + "/data/" + file), test::read_bytes(test::deepseek_tokenizer_dir() + "/" + file));
  EXPECT_EQ(Tokenizer::load(dir + "/data").bos_id(), 0);
  EXPECT_TRUE(test::temp_files_in(dir + "/data").empty());

}

TEST(PrepareData, TheSeedDecidesTheHeldOutDocuments) {
  const std::string dir = test::make_temp_dir();
  PrepareOptions options;
  options.tokenizer = small_tokenizer_dir();
  options.inputs = {corpus_file(dir)};
  options.held_out = 0.2;
  auto held_out = [&](uint64_t seed, const std::string& name) {
    options.seed = seed;
    options.out_dir = dir + "/" + name;
    prepare_data(options);
    return test::read_bytes(dir + "/" + name + "/heldout.safetensors");
  };
  const std::string first = held_out(11, "a");
  EXPECT_EQ(TokenDataset::open(dir + "/a/heldout.safetensors").document_count(), 4);
  EXPECT_EQ(held_out(11, "b"), first);
  EXPECT_NE(held_out(12, "c"), first);
}

TEST(PrepareData, RefusesWhatCannotMakeTwoSplits) {
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/one.txt", "\n\nonly one document\n\n");
  PrepareOptions options;
  options.tokenizer = small_tokenizer_dir();
  options.inputs = {dir + "/one.txt"};
  options.out_dir = dir + "/out";
  EXPECT_TRUE(test::throws_error_mentioning([&] { prepare_data(options); }, {"1 document", "at least one each"}));
  EXPECT_FALSE(fs::exists(dir + "/out/train.safetensors"));

  options.inputs = {dir + "/missing.txt"};
  EXPECT_TRUE(test::throws_error_mentioning([&] { prepare_data(options); }, {dir + "/missing.txt"}));
  options.inputs = {dir + "/one.txt"};
  for (double fraction : {0.0, 1.0, -0.5}) {
    options.held_out = fraction;
    EXPECT_TRUE(test::throws_error_mentioning([&] { prepare_data(options); }, {"held-out fraction"}));
  }
  // A tokenizer without tokenizer_config.json names no BOS.
  options.held_out = 0.5;
  fs::create_directories(dir + "/bare");
  fs::copy_file(small_tokenizer_dir() + "/tokenizer.json", dir + "/bare/tokenizer.json");
  options.tokenizer = dir + "/bare";
  EXPECT_TRUE(test::throws_error_mentioning([&] { prepare_data(options); }, {"tokenizer.json", "BOS"}));
}

TEST(PrepareData, CommandLineFromATrainedTokenizer) {
  const std::string dir = test::make_temp_dir();
  const std::string corpus = corpus_file(dir);
  const auto trained = test::run_frugal("train-tokenizer --vocab 300 --min-frequency 1 --input '" + corpus +
                                        "' --out '" + dir + "/tok'");
  ASSERT_EQ(trained.exit_code, 0) << trained.output;

  const auto prepared = test::run_frugal("prepare-data --tokenizer '" + dir + "/tok' --input '" + corpus +
                                         "' --out '" + dir + "/data' --held-out 0.25 --seed 5");
  ASSERT_EQ(prepared.exit_code, 0) << prepared.output;
  EXPECT_NE(prepared.output.find("15 documents, held-out"), std::string::npos) << prepared.output;
  EXPECT_NE(prepared.output.find("held-out"), std::string::npos) << prepared.output;
  const Tokenizer tokenizer = Tokenizer::load(dir + "/data");
  EXPECT_EQ(tokenizer.vocab_size(), 300);
  const TokenDataset train = TokenDataset::open(dir + "/data/train.safetensors");
  EXPECT_EQ(train.document_count(), 15);
  EXPECT_EQ(TokenDataset::open(dir + "/data/heldout.safetensors").document_count(), 5);
  EXPECT_EQ(decoded_documents(train, tokenizer).size(), 15u);
  EXPECT_LT(train.max_token_id(), 300);

  // One document per file; a separator with escapes.
  test::write_bytes(dir + "/b.txt", "second\n\nfile");
  const auto per_file = test::run_frugal("prepare-data --tokenizer '" + dir + "/tok' --input '" + corpus + "' '" +
                                         dir + "/b.txt' --out '" + dir + "/files' --document-per-file");
  ASSERT_EQ(per_file.exit_code, 0) << per_file.output;
  EXPECT_EQ(TokenDataset::open(dir + "/files/train.safetensors").document_count() +
                TokenDataset::open(dir + "/files/heldout.safetensors").document_count(),
            2);
  EXPECT_TRUE(json::parse(read_text_file(dir + "/files/data.json"))["document_separator"].is_null());

  test::write_bytes(dir + "/c.txt", "one\n---\ntwo\n---\nthree\n---\nfour");
  const auto separated = test::run_frugal("prepare-data --tokenizer '" + dir + "/tok' --input '" + dir +
                                          "/c.txt' --out '" + dir + "/sep' --document-separator '\\n---\\n'");
  ASSERT_EQ(separated.exit_code, 0) << separated.output;
  const auto sep_train = decoded_documents(TokenDataset::open(dir + "/sep/train.safetensors"), tokenizer);
  EXPECT_EQ(sep_train.size(), 3u);

  const auto bad = test::run_frugal("prepare-data --tokenizer '" + dir + "/tok' --input '" + dir + "/c.txt' --out '" +
                                    dir + "/bad' --document-separator '\\q'");
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.output.find("unknown escape \\q"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace frugal
