#pragma once
// The pre-tokenizer of a Hugging Face tokenizer.json: a sequence of Split
// steps (PCRE2 regexes in UTF + UCP mode, JIT-compiled), each cutting every
// piece of the previous step into matches and the gaps between them
// ("Isolated" behaviour: nothing is dropped, order is kept).
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace frugal {

class RegexSplitter {
 public:
  // `pattern` in the Oniguruma dialect of tokenizer.json; `source` names the
  // file and step for errors.
  RegexSplitter(const std::string& pattern, const std::string& source);
  ~RegexSplitter();
  RegexSplitter(RegexSplitter&&) noexcept;
  RegexSplitter& operator=(RegexSplitter&&) noexcept;

  // Appends the pieces of `text` (valid UTF-8) to `out`.
  void split(std::string_view text, std::vector<std::string_view>& out) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Rewrites \s and \S so they mean Unicode White_Space, as in Oniguruma (which
// Hugging Face tokenizers uses): PCRE2's UCP \s adds U+180E.
std::string oniguruma_to_pcre2(const std::string& pattern);

class PreTokenizer {
 public:
  void add_split(const std::string& pattern, const std::string& source);
  bool empty() const { return steps_.empty(); }
  // Pieces of `text`, in order, none empty.
  std::vector<std::string_view> split(std::string_view text) const;

 private:
  std::vector<RegexSplitter> steps_;
};

}  // namespace frugal
