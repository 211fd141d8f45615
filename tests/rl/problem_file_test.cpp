// Problems from JSONL: good lines, every kind of bad line named by file and
// line, strict and lenient modes, and the reference-answer verifier.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/rl/problem_file.h"
#include "support/test_support.h"

namespace frugal::rl {
namespace {

std::string write_problems(const std::string& text) {
  const std::string path = test::make_temp_dir() + "/problems.jsonl";
  test::write_bytes(path, text);
  return path;
}

TEST(ProblemFile, ReadsProblemsSkippingBlankLines) {
  const std::string path = write_problems(
      "{\"prompt\": \"Capital of France?\", \"answer\": \"Paris\"}\n"
      "\n"
      "   \r\n"
      "{\"prompt\": \"6*7\", \"answer\": 42, \"id\": \"life\", \"source\": \"ignored\"}\r\n"
      "{\"answer\": \"2.50\", \"prompt\": \"5/2\"}");  // no final newline
  const ProblemFile f = read_problem_file(path);
  ASSERT_EQ(f.problems.size(), 3u);
  EXPECT_EQ(f.skipped_lines, 0);
  EXPECT_EQ(f.problems[0].prompt, "Capital of France?");
  EXPECT_EQ(f.problems[0].answer, "Paris");
  EXPECT_EQ(f.problems[0].id, path + ":1");
  EXPECT_EQ(f.problems[1].answer, "42");
  EXPECT_EQ(f.problems[1].id, "life");
  EXPECT_EQ(f.problems[2].id, path + ":5");

  const ReferenceAnswerVerifier v;
  EXPECT_TRUE(v.verify(f.problems[0], " Paris "));
  EXPECT_FALSE(v.verify(f.problems[0], "paris"));
  EXPECT_TRUE(v.verify(f.problems[1], "42.0"));
  EXPECT_TRUE(v.verify(f.problems[2], "2.5"));
  EXPECT_DOUBLE_EQ(v.partial_credit(f.problems[2], "2.5"), 1.0);
  EXPECT_DOUBLE_EQ(v.partial_credit(f.problems[2], "2.4"), 0.0);
}

TEST(ProblemFile, BadLinesAreErrorsNamingFileAndLine) {
  const std::string good = "{\"prompt\": \"p\", \"answer\": \"a\"}\n";
  struct Case {
    std::string line;
    std::string complaint;
  };
  for (const Case& c : std::vector<Case>{
           {"{\"prompt\": \"p\", \"answer\": ", "not JSON"},
           {"prompt: p", "not JSON"},
           {"[\"p\", \"a\"]", "not a JSON object"},
           {"{\"answer\": \"a\"}", "missing field \"prompt\""},
           {"{\"prompt\": \"p\"}", "missing field \"answer\""},
           {"{\"prompt\": 5, \"answer\": \"a\"}", "field \"prompt\" must be a string, got number"},
           {"{\"prompt\": \"p\", \"answer\": [1]}", "field \"answer\" must be a string or a number, got array"},
           {"{\"prompt\": \"p\", \"answer\": null}", "got null"},
           {"{\"prompt\": \"  \", \"answer\": \"a\"}", "field \"prompt\" is empty"},
           {"{\"prompt\": \"p\", \"answer\": \"a\", \"id\": 3}", "field \"id\" must be a string"},
           {"{\"prompt\": \"caf\xe9\", \"answer\": \"a\"}", "invalid UTF-8 at byte 16"},
           {"{\"prompt\": \"p\", \"answer\": \"a\", \"x\": " + std::string(100, '[') + std::string(100, ']') + "}",
            "nested deeper than 64"},
       }) {
    const std::string path = write_problems(good + good + c.line + "\n" + good);
    EXPECT_TRUE(test::throws_error_mentioning([&] { read_problem_file(path); }, {path + ":3: ", c.complaint}))
        << c.line;
  }
}

TEST(ProblemFile, SkipModeWarnsCountsAndKeepsTheRest) {
  const std::string path = write_problems(
      "{\"prompt\": \"p1\", \"answer\": \"1\"}\n"
      "not json\n"
      "{\"prompt\": \"p3\", \"answer\": \"3\"}\n"
      "{\"prompt\": \"p4\"}\n");
  std::vector<std::string> warnings;
  const ProblemFile f =
      read_problem_file(path, BadLines::Skip, [&](const std::string& w) { warnings.push_back(w); });
  ASSERT_EQ(f.problems.size(), 2u);
  EXPECT_EQ(f.problems[1].prompt, "p3");
  EXPECT_EQ(f.skipped_lines, 2);
  ASSERT_EQ(warnings.size(), 2u);
  EXPECT_NE(warnings[0].find(path + ":2: not JSON"), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[1].find(path + ":4: missing field \"answer\""), std::string::npos) << warnings[1];
}

TEST(ProblemFile, MissingFileIsAnError) {
  EXPECT_TRUE(test::throws_error_mentioning([] { read_problem_file("/nonexistent/problems.jsonl"); },
                                            {"/nonexistent/problems.jsonl", "no such problems file"}));
  const std::string dir = test::make_temp_dir();
  EXPECT_TRUE(test::throws_error_mentioning([&] { read_problem_file(dir); }, {dir, "no such problems file"}));
}

}  // namespace
}  // namespace frugal::rl
