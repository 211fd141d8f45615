#include "reply_printer.h"

#include <unistd.h>

namespace frugal::cli {
namespace {
constexpr const char* kDim = "\x1b[2m";
constexpr const char* kReset = "\x1b[0m";
}  // namespace

ReplyPrinter::ReplyPrinter(bool opens_in_reasoning, ReasoningDisplay display)
    : display_(display),
      terminal_(::isatty(STDOUT_FILENO) == 1),
      splitter_(opens_in_reasoning, [this](ReplyPart part, std::string_view text) { write(part, text); }) {}

void ReplyPrinter::write(ReplyPart part, std::string_view text) {
  if (part == ReplyPart::Reasoning && display_ == ReasoningDisplay::Hide) return;
  if (part == ReplyPart::Reasoning && !shown_reasoning_heading_) {
    std::fputs("Reasoning:\n", stdout);
    shown_reasoning_heading_ = true;
  }
  if (part == ReplyPart::Answer && shown_reasoning_heading_ && !shown_answer_heading_) {
    std::fputs(ends_with_newline_ ? "\nAnswer:\n" : "\n\nAnswer:\n", stdout);
    shown_answer_heading_ = true;
  }
  const bool dim = terminal_ && part == ReplyPart::Reasoning;
  if (dim) std::fputs(kDim, stdout);
  std::fwrite(text.data(), 1, text.size(), stdout);
  if (dim) std::fputs(kReset, stdout);
  if (!text.empty()) ends_with_newline_ = text.back() == '\n';
  std::fflush(stdout);
  any_output_ = true;
}

void ReplyPrinter::print(std::string_view text) {
  if (display_ == ReasoningDisplay::Raw) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    std::fflush(stdout);
    if (!text.empty()) ends_with_newline_ = text.back() == '\n';
    any_output_ = true;
    return;
  }
  splitter_.push(text);
}

void ReplyPrinter::finish() {
  if (display_ != ReasoningDisplay::Raw) splitter_.flush();
  if (any_output_ && !ends_with_newline_) std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace frugal::cli
