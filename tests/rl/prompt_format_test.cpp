// Templates and the completion format: what is well formed, what is not,
// and which answer is extracted.
#include <gtest/gtest.h>

#include <string>

#include "frugal/core/error.h"
#include "frugal/rl/prompt_format.h"
#include "support/test_support.h"

namespace frugal::rl {
namespace {

TEST(PromptFormat, RendersBothTemplates) {
  EXPECT_EQ(render_prompt(PromptTemplate::Compact, "Compute 47 + 85"), "Compute 47 + 85\n");
  EXPECT_EQ(render_prompt(PromptTemplate::R1Zero, "Compute 47 + 85"),
            "A conversation between User and Assistant. The user asks a question, and the Assistant solves it. "
            "The assistant first thinks about the reasoning process in the mind and then provides the user with the "
            "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
            "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. "
            "User: Compute 47 + 85. Assistant:");
  EXPECT_EQ(render_completion(PromptTemplate::R1Zero, "<think> x </think> <answer> 1 </answer>"),
            " <think> x </think> <answer> 1 </answer>");
  EXPECT_EQ(parse_prompt_template("r1-zero"), PromptTemplate::R1Zero);
  EXPECT_EQ(parse_prompt_template("compact"), PromptTemplate::Compact);
  EXPECT_STREQ(to_string(PromptTemplate::R1Zero), "r1-zero");
  EXPECT_TRUE(test::throws_error_mentioning([] { parse_prompt_template("chatml"); }, {"chatml", "r1-zero, compact"}));
}

TEST(PromptFormat, AcceptsWellFormedCompletions) {
  for (const char* good : {
           "<think> 7+5=12 c1 </think> <answer> 132 </answer>",
           "<think>x</think><answer>132</answer>",
           " \n<think>\nlines\nof thought\n</think>\n\n<answer>\n132\n</answer>\n \t",
           "<think></think> <answer>132</answer>",               // empty reasoning is allowed
           "<think> a < b and c > d </think> <answer> 1 </answer>",
           "<think> <think > and <Think> are text </think> <answer> <answer > </answer>",
       }) {
    const ParsedCompletion c = parse_completion(good);
    EXPECT_TRUE(c.well_formed) << good;
    EXPECT_TRUE(c.answer.has_value()) << good;
  }
  EXPECT_EQ(parse_completion(" <think> t </think> <answer>  132 \n</answer>").answer.value(), "132");
}

TEST(PromptFormat, RejectsMalformedCompletions) {
  for (const char* bad : {
           "",
           "132",
           "<answer> 132 </answer>",                                       // no reasoning block
           "<think> t </think>",                                           // no answer block
           "<answer> 132 </answer> <think> t </think>",                    // wrong order
           "so <think> t </think> <answer> 132 </answer>",                 // text before
           "<think> t </think> and <answer> 132 </answer>",                // text between
           "<think> t </think> <answer> 132 </answer> done",               // text after
           "<think> t </think> <answer> 132 </answer><|EOS|>",
           "<think> t <think> u </think> <answer> 132 </answer>",          // nested open tag
           "<think> t </think> </think> <answer> 132 </answer>",           // a second close
           "<think> t </think> <answer> 1 </answer> <answer> 2 </answer>", // two answers
           "<think> t </think> <think> u </think> <answer> 1 </answer>",   // two thoughts
           "<think> t <answer> 1 </answer> </think> <answer> 1 </answer>", // answer inside the thought
           "<think> t </think> <answer> 1 </think> </answer>",             // tag inside the answer
           "<think> t </think> <answer>   </answer>",                      // empty answer
           "<think> t </think> <answer> 132",                              // answer not closed
           "<think> t <answer> 132 </answer>",                             // thought not closed
           "<Think> t </Think> <answer> 132 </answer>",                    // tags are case-sensitive
           "<think > t </think> <answer> 132 </answer>",
       })
    EXPECT_FALSE(parse_completion(bad).well_formed) << bad;
}

TEST(PromptFormat, ExtractsTheFirstClosedAnswerWhateverTheFormat) {
  EXPECT_EQ(parse_completion("noise <answer> 42 </answer> more").answer.value(), "42");
  EXPECT_EQ(parse_completion("<answer>1</answer><answer>2</answer>").answer.value(), "1");
  EXPECT_EQ(parse_completion("<answer> <answer> 5 </answer>").answer.value(), "<answer> 5");
  EXPECT_EQ(parse_completion("<answer></answer>").answer.value(), "");
  EXPECT_FALSE(parse_completion("<answer> 42").answer.has_value());
  EXPECT_FALSE(parse_completion("</answer> 42 <answer>").answer.has_value());
  EXPECT_FALSE(parse_completion("no tags at all").answer.has_value());
}

}  // namespace
}  // namespace frugal::rl
