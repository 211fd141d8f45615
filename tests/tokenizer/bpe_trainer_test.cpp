// The BPE trainer: the requested vocabulary size, merges that can be checked
// by hand (with the tie rule), exact round trips of seen and unseen text,
// special tokens as single ids, output that Tokenizer::load reads, and clear
// errors for bad input.
#include <gtest/gtest.h>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "frugal/io/checkpoint.h"
#include "frugal/tokenizer/bpe_trainer.h"
#include "frugal/tokenizer/byte_level.h"
#include "frugal/tokenizer/deepseek_pretokenizer.h"
#include "frugal/tokenizer/piece_counts.h"
#include "frugal/tokenizer/tokenizer.h"
#include "frugal/tokenizer/tokenizer_writer.h"
#include "frugal/tokenizer/utf8.h"
#include "support/test_support.h"
#include "support/tokenizer.h"

namespace frugal {
namespace {

using json = nlohmann::json;

const std::vector<std::string> kExtras = {"<think>", "</think>"};

// A little English with the shapes the pre-tokenizer cares about: words,
// punctuation, numbers, indentation, blank lines.
std::string english_corpus() {
  const std::string paragraph =
      "The quick brown fox jumps over the lazy dog. The dog sleeps, and the fox runs on.\n"
      "In 2024 there were 1234 foxes; by 2025, 15% more!\n"
      "    Indented lines keep their spaces.\n\n"
      "<think>The fox thinks about the dog.</think> Then the fox answers the question.\n\n"
      "A tokenizer learns which neighbouring symbols appear together most often, merges them into\n"
      "a new symbol, and repeats until its vocabulary is full. Frequent words become single tokens;\n"
      "rare words are spelled from smaller pieces, down to single bytes when nothing else fits.\n\n"
      "Meanwhile, somewhere in a quiet village, the baker weighed flour, kneaded dough and watched\n"
      "the oven. Customers arrived early: farmers, teachers, children carrying baskets, travellers.\n\n";
  std::string text;
  for (int i = 0; i < 20; ++i) text += paragraph;
  return text;
}

TrainedBpe train(const std::string& text, int32_t vocab_size, int64_t min_frequency = 2,
                 const std::vector<std::string>& extras = kExtras) {
  const auto specials = special_tokens_with_bos_eos(extras);
  PieceCounter counter(specials);
  counter.add_text(text);
  BpeTrainerOptions options;
  options.vocab_size = vocab_size;
  options.min_frequency = min_frequency;
  return train_bpe(counter.counts(), specials, options);
}

Tokenizer load_trained(const TrainedBpe& bpe) {
  const std::string dir = test::make_temp_dir() + "/tokenizer";
  write_trained_tokenizer(bpe, dir, 4096);
  return Tokenizer::load(dir);
}

std::vector<std::string> merge_strings(const TrainedBpe& bpe) {
  std::vector<std::string> out;
  for (const auto& [left, right] : bpe.merges) {
    std::string l, r;
    for (unsigned char b : bpe.tokens[left]) l += byte_to_unicode()[b];
    for (unsigned char b : bpe.tokens[right]) r += byte_to_unicode()[b];
    out.push_back(l + " " + r);
  }
  return out;
}

TEST(BpeTrainer, ReachesExactlyTheRequestedVocabularyAndLoads) {
  const TrainedBpe bpe = train(english_corpus(), 400);
  EXPECT_EQ(bpe.vocab_size(), 400);
  EXPECT_TRUE(bpe.stopped_early.empty()) << bpe.stopped_early;
  EXPECT_EQ(bpe.merges.size(), 400u - 4 - 256);  // no two merges made the same bytes here

  const Tokenizer tokenizer = load_trained(bpe);
  EXPECT_EQ(tokenizer.vocab_size(), 400);
  EXPECT_EQ(tokenizer.bos_id(), 0);
  EXPECT_EQ(tokenizer.eos_id(), 1);
  EXPECT_TRUE(tokenizer.add_bos_token());
  EXPECT_EQ(tokenizer.token_string(0), std::string(kBosToken));
  EXPECT_EQ(tokenizer.token_string(1), std::string(kEosToken));
  EXPECT_EQ(tokenizer.token_string(2), "<think>");
  EXPECT_EQ(tokenizer.token_string(3), "</think>");
  EXPECT_TRUE(tokenizer.is_special(0));
  EXPECT_TRUE(tokenizer.is_special(1));
  EXPECT_FALSE(tokenizer.is_special(2));  // like DeepSeek-R1's <think>: kept by skip_special_tokens
  // The bytes follow the specials in byte order.
  EXPECT_EQ(tokenizer.token_bytes(4), std::string(1, '\0'));
  EXPECT_EQ(tokenizer.token_bytes(4 + 'A'), "A");
  EXPECT_EQ(tokenizer.token_bytes(4 + 255), std::string(1, '\xff'));
}

TEST(BpeTrainer, HandCheckedMergesAndTheTieRule) {
  // Pieces: "abab", " abab", " cd" once each. Pair counts: a b 4, b a 2,
  // then all 1. After "a b" and "ab ab", three pairs are left with count 1;
  // the tie goes to the smallest (left, right) ids: " " (byte 0x20) < "c"
  // (0x63) < new tokens.
  const TrainedBpe all = train("abab abab cd", 2 + 256 + 10, /*min_frequency=*/1, {});
  EXPECT_EQ(merge_strings(all), (std::vector<std::string>{"a b", "ab ab", "Ġ c", "Ġ abab", "Ġc d"}));
  EXPECT_EQ(all.vocab_size(), 2 + 256 + 5);
  EXPECT_NE(all.stopped_early.find("no pair"), std::string::npos) << all.stopped_early;
  EXPECT_EQ(all.tokens[all.vocab_size() - 1], " cd");

  // With the default minimum frequency of 2 the pairs seen once never merge.
  const TrainedBpe frequent = train("abab abab cd", 2 + 256 + 10, 2, {});
  EXPECT_EQ(merge_strings(frequent), (std::vector<std::string>{"a b", "ab ab"}));
  EXPECT_NE(frequent.stopped_early.find("minimum frequency 2"), std::string::npos) << frequent.stopped_early;

  // A run of one letter merges left to right without overlaps.
  // "aaaaa" -> aa aa a (pairs aa+aa and aa+a once each; the tie goes to
  // the smaller right id, the byte "a") -> aa aaa -> aaaaa.
  const TrainedBpe run = train("aaaaa", 2 + 256 + 5, 1, {});
  EXPECT_EQ(merge_strings(run), (std::vector<std::string>{"a a", "aa a", "aa aaa"}));
}

TEST(BpeTrainer, RoundTripsSeenAndUnseenText) {
  const std::string corpus = english_corpus();
  const Tokenizer tokenizer = load_trained(train(corpus, 500));
  const std::vector<int32_t> ids = tokenizer.encode(corpus);
  EXPECT_EQ(tokenizer.decode(ids), corpus);
  EXPECT_LT(ids.size() * 3, corpus.size()) << "the merges should compress the text they were learnt on";
  // A frequent word is one token.
  EXPECT_EQ(tokenizer.encode(" fox").size(), 1u);

  for (const std::string& text : {
           std::string("Unseen words: zebra, quixotic, 98765."),
           std::string("Non-ASCII: naïve café, Straße, Ελληνικά, русский, 日本語のテキスト, 中文。"),
           std::string("Emoji: 🙂🦊 and a flag 🇫🇷, ZWJ 👩‍💻."),
           std::string("Tabs\tand\r\nline breaks\n\n\n   trailing   "),
       }) {
    EXPECT_EQ(tokenizer.decode(tokenizer.encode(text)), text) << text;
  }
}

TEST(BpeTrainer, SpecialTokensAreSingleIdsAndNeverLearnt) {
  const TrainedBpe bpe = train(english_corpus(), 600);
  const Tokenizer tokenizer = load_trained(bpe);
  const std::vector<int32_t> ids = tokenizer.encode("<think>The fox.</think>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), 2);
  EXPECT_EQ(ids.back(), 3);
  EXPECT_EQ(tokenizer.encode(std::string(kBosToken) + std::string(kEosToken)), (std::vector<int32_t>{0, 1}));
  // The corpus holds "<think>" 20 times, but it is cut out before counting:
  // no learnt token carries a piece of it.
  for (int32_t id = 4; id < bpe.vocab_size(); ++id) {
    EXPECT_EQ(bpe.tokens[id].find("<th"), std::string::npos) << bpe.tokens[id];
    EXPECT_EQ(bpe.tokens[id].find("</"), std::string::npos) << bpe.tokens[id];
  }
}

TEST(BpeTrainer, WritesDeepSeeksLayout) {
  const std::string dir = test::make_temp_dir() + "/out";
  write_trained_tokenizer(train(english_corpus(), 300), dir, 2048);
  const json written = json::parse(read_text_file(dir + "/tokenizer.json"));
  const json deepseek = json::parse(read_text_file(test::deepseek_tokenizer_dir() + "/tokenizer.json"));
  for (const char* key : {"normalizer", "pre_tokenizer", "post_processor", "decoder"})
    EXPECT_EQ(written[key], deepseek[key]) << key;
  for (const auto& [key, value] : deepseek["model"].items()) {
    if (key != "vocab" && key != "merges") {
      EXPECT_EQ(written["model"][key], value) << key;
    }
  }
  EXPECT_EQ(written["added_tokens"][0], deepseek["added_tokens"][0]);  // BOS, byte for byte
  EXPECT_EQ(written["added_tokens"][1], deepseek["added_tokens"][1]);  // EOS
  EXPECT_EQ(written["model"]["vocab"].size(), 300u - 4);
  EXPECT_EQ(written["model"]["vocab"]["Ġ"], 4 + ' ');

  const json config = json::parse(read_text_file(dir + "/tokenizer_config.json"));
  EXPECT_EQ(config["bos_token"]["content"], std::string(kBosToken));
  EXPECT_EQ(config["eos_token"]["content"], std::string(kEosToken));
  EXPECT_EQ(config["add_bos_token"], true);
  EXPECT_EQ(config["model_max_length"], 2048);
  EXPECT_TRUE(test::temp_files_in(dir).empty());
}

TEST(BpeTrainer, PreTokenizerIsDeepSeeksAndChunkingChangesNothing) {
  const json deepseek = json::parse(read_text_file(test::deepseek_tokenizer_dir() + "/tokenizer.json"));
  const auto& patterns = deepseek_v3_split_patterns();
  ASSERT_EQ(patterns.size(), 3u);
  for (std::size_t i = 0; i < 3; ++i)
    EXPECT_EQ(patterns[i], deepseek["pre_tokenizer"]["pretokenizers"][i]["pattern"]["Regex"].get<std::string>());

  // Chunks of 8 bytes cut at almost every line start; the counts must not move.
  const std::string text = english_corpus() + "x\n\n \n\tindent\n123\n456\n\r\nA.\nb\n日本\n" + english_corpus();
  PieceCounter whole({}, 1 << 30), chunked({}, 8);
  whole.add_text(text);
  chunked.add_text(text);
  EXPECT_EQ(whole.pieces(), chunked.pieces());
  EXPECT_EQ(whole.counts(), chunked.counts());
  // And they are the pieces the DeepSeek tokenizer itself would encode.
  int64_t pieces = 0;
  for (std::string_view piece : deepseek_v3_pre_tokenizer().split(text)) {
    ++pieces;
    EXPECT_TRUE(whole.counts().contains(piece)) << piece;
  }
  EXPECT_EQ(pieces, whole.pieces());
}

TEST(BpeTrainer, InvalidUtf8IsReplacedAsEncodeDoes) {
  PieceCounter counter(special_tokens_with_bos_eos({}));
  EXPECT_EQ(counter.add_text("ok\xff\xfe text"), 2u);  // the offset of the first bad byte
  EXPECT_EQ(counter.add_text("valid"), std::string_view::npos);
  bool replaced = false;
  for (const auto& [piece, count] : counter.counts()) {
    EXPECT_TRUE(is_valid_utf8(piece)) << piece;
    replaced = replaced || piece.find("\xEF\xBF\xBD") != std::string::npos;
  }
  EXPECT_TRUE(replaced);
  // A file with invalid bytes is read (with a warning), not refused.
  const std::string path = test::make_temp_dir() + "/latin1.txt";
  test::write_bytes(path, "caf\xe9 au lait\n");
  counter.add_file(path, false);
  EXPECT_EQ(counter.counts().at("caf"), 1);
  EXPECT_EQ(counter.counts().at("\xEF\xBF\xBD"), 1);  // U+FFFD is a symbol: a piece of its own
}

TEST(BpeTrainer, BadInputIsRefusedClearly) {
  const auto specials = special_tokens_with_bos_eos(kExtras);
  BpeTrainerOptions options;
  options.vocab_size = 259;
  EXPECT_TRUE(test::throws_error_mentioning([&] { train_bpe({}, specials, options); },
                                            {"259", "too small", "256 byte tokens", "4 special", "260"}));
  options.vocab_size = 300;
  options.min_frequency = 0;
  EXPECT_TRUE(test::throws_error_mentioning([&] { train_bpe({}, specials, options); }, {"minimum", "0"}));

  PieceCounter counter(specials);
  EXPECT_TRUE(test::throws_error_mentioning([&] { counter.add_file("/nonexistent/corpus.txt", false); },
                                            {"/nonexistent/corpus.txt"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { special_tokens_with_bos_eos({"<think>", "<think>"}); },
                                            {"<think>", "twice"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { special_tokens_with_bos_eos({std::string(kEosToken)}); },
                                            {"twice"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { special_tokens_with_bos_eos({""}); }, {"empty"}));
  EXPECT_TRUE(test::throws_error_mentioning([] { special_tokens_with_bos_eos({"\xff"}); }, {"UTF-8"}));
}

TEST(BpeTrainer, CommandLine) {
  const std::string dir = test::make_temp_dir();
  const std::string corpus = dir + "/corpus.txt";
  test::write_bytes(corpus, english_corpus());
  const auto ok = test::run_frugal("train-tokenizer --vocab 420 --input '" + corpus + "' '" + corpus + "' --out '" +
                                   dir + "/tok' --special '<answer>' '</answer>' --min-frequency 3");
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("420 tokens (4 special, 256 bytes, 160 merges)"), std::string::npos) << ok.output;
  const Tokenizer tokenizer = Tokenizer::load(dir + "/tok");
  EXPECT_EQ(tokenizer.vocab_size(), 420);
  EXPECT_EQ(tokenizer.token_id("<answer>"), 2);
  EXPECT_EQ(tokenizer.token_id("</answer>"), 3);

  const auto small = test::run_frugal("train-tokenizer --vocab 100 --input '" + corpus + "' --out '" + dir + "/x'");
  EXPECT_EQ(small.exit_code, 1);
  EXPECT_NE(small.output.find("--vocab 100 is too small"), std::string::npos) << small.output;
  EXPECT_FALSE(std::filesystem::exists(dir + "/x"));
  const auto missing = test::run_frugal("train-tokenizer --vocab 300 --input /nonexistent.txt --out '" + dir + "/y'");
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("/nonexistent.txt"), std::string::npos) << missing.output;
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// --digit-group 1: every digit is a piece of its own, in training and in the
// written tokenizer.json, so no merge can join digits.
TEST(BpeTrainer, SingleDigitPiecesForArithmetic) {
  std::string corpus;
  for (int i = 0; i < 300; ++i) corpus += "Compute " + std::to_string(i * 37) + " + " + std::to_string(i * 11) + "\n";
  const std::string dir = test::make_temp_dir();
  test::write_bytes(dir + "/corpus.txt", corpus);
  const test::CommandResult r =
      test::run_frugal("train-tokenizer --vocab 300 --digit-group 1 --input " + dir + "/corpus.txt --out " + dir + "/tok");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  const Tokenizer tokenizer = Tokenizer::load(dir + "/tok");
  EXPECT_EQ(tokenizer.encode("12345").size(), 5u);
  for (int32_t id = 0; id < tokenizer.vocab_size(); ++id) {
    const std::string& bytes = tokenizer.token_bytes(id);
    int digits = 0;
    for (char c : bytes) digits += (c >= '0' && c <= '9') ? 1 : 0;
    EXPECT_LE(digits, 1) << "token " << id << " joins digits: " << bytes;
  }
  EXPECT_NE(read_text_file(dir + "/tok/tokenizer.json").find(R"("Regex":"\\p{N}")"), std::string::npos);
  const test::CommandResult bad =
      test::run_frugal("train-tokenizer --vocab 300 --digit-group 4 --input " + dir + "/corpus.txt --out " + dir + "/x");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE(bad.output.find("--digit-group"), std::string::npos) << bad.output;
}

}  // namespace
}  // namespace frugal
