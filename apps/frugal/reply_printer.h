#pragma once
// Prints a streamed reply to stdout, showing R1-style reasoning apart from
// the answer: dimmed on a terminal, under "Reasoning:" / "Answer:" headings
// otherwise; or hidden, or raw (the text exactly as generated).
#include <cstdio>
#include <string>
#include <string_view>

#include "frugal/generate/reasoning.h"

namespace frugal::cli {

enum class ReasoningDisplay { Show, Hide, Raw };

class ReplyPrinter {
 public:
  ReplyPrinter(bool opens_in_reasoning, ReasoningDisplay display);
  void print(std::string_view text);
  void finish();  // flushes and ends the line

 private:
  void write(ReplyPart part, std::string_view text);

  ReasoningDisplay display_;
  bool terminal_;
  ReasoningSplitter splitter_;
  bool any_output_ = false;
  bool shown_reasoning_heading_ = false, shown_answer_heading_ = false;
  bool ends_with_newline_ = true;
};

}  // namespace frugal::cli
