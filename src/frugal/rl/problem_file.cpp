#include "frugal/rl/problem_file.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "frugal/core/error.h"
#include "frugal/rl/answer_match.h"
#include "frugal/tokenizer/utf8.h"

namespace frugal::rl {
namespace {

using json = nlohmann::json;

// Problems are flat objects; refusing deep nesting up front keeps a hostile
// line from exhausting the stack anywhere in the JSON library.
constexpr int kMaxNesting = 64;

int nesting_depth(std::string_view line) {
  int depth = 0, deepest = 0;
  bool in_string = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      deepest = std::max(deepest, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return deepest;
}

// The problem on one line; throws frugal::Error with what is wrong (the
// caller adds file and line).
Problem parse_line(std::string_view line, const std::string& default_id) {
  if (const std::size_t bad = first_invalid_utf8(line); bad != std::string_view::npos)
    fail("invalid UTF-8 at byte ", bad + 1);
  if (nesting_depth(line) > kMaxNesting) fail("JSON nested deeper than ", kMaxNesting, " levels");
  json j;
  try {
    j = json::parse(line);
  } catch (const json::parse_error& e) {
    fail("not JSON (", e.what(), ")");
  }
  if (!j.is_object()) fail("not a JSON object");
  auto text_field = [&](const char* name, bool numbers_allowed) {
    const auto it = j.find(name);
    if (it == j.end()) fail("missing field \"", name, "\"");
    std::string value;
    if (it->is_string()) {
      value = it->get<std::string>();
    } else if (numbers_allowed && it->is_number()) {
      value = it->dump();
    } else {
      fail("field \"", name, "\" must be a string", numbers_allowed ? " or a number" : "", ", got ", it->type_name());
    }
    if (trim(value).empty()) fail("field \"", name, "\" is empty");
    return value;
  };
  Problem p;
  p.prompt = text_field("prompt", false);
  p.answer = text_field("answer", true);
  p.id = j.contains("id") ? text_field("id", false) : default_id;
  return p;
}

}  // namespace

ProblemFile read_problem_file(const std::string& path, BadLines bad_lines,
                              const std::function<void(const std::string&)>& warn) {
  if (!std::filesystem::is_regular_file(path)) fail(path, ": no such problems file");
  std::ifstream in(path, std::ios::binary);
  if (!in) fail(path, ": cannot open the problems file");
  ProblemFile out;
  std::string line;
  for (int64_t number = 1; std::getline(in, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (trim(line).empty()) continue;
    try {
      out.problems.push_back(parse_line(line, path + ":" + std::to_string(number)));
    } catch (const Error& e) {
      const std::string message = path + ":" + std::to_string(number) + ": " + e.what();
      if (bad_lines == BadLines::Fail) fail(message);
      ++out.skipped_lines;
      if (warn) {
        warn(message);
      } else {
        std::fprintf(stderr, "frugal: warning: skipped %s\n", message.c_str());
      }
    }
  }
  if (in.bad()) fail(path, ": read error");
  return out;
}

bool ReferenceAnswerVerifier::verify(const Problem& problem, std::string_view answer) const {
  return answers_match(problem.answer, answer);
}

}  // namespace frugal::rl
