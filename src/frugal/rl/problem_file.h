#pragma once
// Problems from a JSONL file, one per line: {"prompt": "...", "answer": "..."}
// (answer may also be a JSON number; an optional "id" string names the
// problem, else it is FILE:LINE; other fields are ignored; blank lines are
// skipped). Answers are checked by normalised exact match (answer_match.h).
//
// A malformed line (not JSON, not an object, a missing or empty field, a
// field of the wrong type, invalid UTF-8) is an error naming the file and
// line; with BadLines::Skip it is reported to `warn` instead, skipped and
// counted.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "frugal/rl/task.h"

namespace frugal::rl {

enum class BadLines { Fail, Skip };

struct ProblemFile {
  std::vector<Problem> problems;
  int64_t skipped_lines = 0;
};

// `warn` receives one message per skipped line (default: stderr).
ProblemFile read_problem_file(const std::string& path, BadLines bad_lines = BadLines::Fail,
                              const std::function<void(const std::string&)>& warn = {});

// Verifies problems that carry their reference answer: answers_match().
class ReferenceAnswerVerifier final : public Verifier {
 public:
  std::string name() const override { return "file"; }
  bool verify(const Problem& problem, std::string_view answer) const override;
};

}  // namespace frugal::rl
