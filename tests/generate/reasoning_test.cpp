// Reasoning/answer separation of R1-style replies, whole and streamed in
// chunks of every size (markers split across chunks).
#include <gtest/gtest.h>

#include "frugal/generate/reasoning.h"

namespace frugal {
namespace {

std::pair<std::string, std::string> streamed(std::string_view reply, bool in_reasoning, std::size_t chunk) {
  std::pair<std::string, std::string> parts;
  ReasoningSplitter splitter(in_reasoning, [&](ReplyPart part, std::string_view text) {
    (part == ReplyPart::Reasoning ? parts.first : parts.second) += text;
  });
  for (std::size_t i = 0; i < reply.size(); i += chunk) splitter.push(reply.substr(i, chunk));
  splitter.flush();
  return parts;
}

TEST(Reasoning, SplitsAtTheClosingMarkerWhateverTheChunking) {
  const std::string reply = "Add 2 and 2.\nThat is 4.\n</think>\n\nThe answer is 4.";
  for (std::size_t chunk = 1; chunk <= reply.size(); ++chunk) {
    const auto [reasoning, answer] = streamed(reply, /*in_reasoning=*/true, chunk);
    EXPECT_EQ(reasoning, "Add 2 and 2.\nThat is 4.\n") << "chunk " << chunk;
    EXPECT_EQ(answer, "\n\nThe answer is 4.") << "chunk " << chunk;
  }
}

TEST(Reasoning, AReplyMayOpenItsOwnReasoning) {
  for (std::size_t chunk = 1; chunk < 12; ++chunk) {
    const auto [reasoning, answer] = streamed("\n<think>\nhmm\n</think>\n42", false, chunk);
    EXPECT_EQ(reasoning, "\nhmm\n") << chunk;
    EXPECT_EQ(answer, "\n42") << chunk;
  }
}

TEST(Reasoning, ThinkAfterAnswerTextIsOrdinaryText) {
  const auto [reasoning, answer] = split_reasoning("Use <think> tags like </think> this.", false);
  EXPECT_EQ(reasoning, "");
  EXPECT_EQ(answer, "Use <think> tags like </think> this.");
}

TEST(Reasoning, UnclosedReasoningStaysReasoning) {
  const auto [reasoning, answer] = split_reasoning("still thinking </thi", true);
  EXPECT_EQ(reasoning, "still thinking </thi");
  EXPECT_EQ(answer, "");
}

TEST(Reasoning, LookalikeMarkersPassThrough) {
  const auto [reasoning, answer] = split_reasoning("a </thinking> b </think>c", true);
  EXPECT_EQ(reasoning, "a </thinking> b ");
  EXPECT_EQ(answer, "c");
}

}  // namespace
}  // namespace frugal
