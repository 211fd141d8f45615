#include "frugal/tokenizer/piece_counts.h"

#include <cstdio>
#include <exception>
#include <filesystem>
#include <mutex>

#include "frugal/core/error.h"
#include "frugal/core/thread_pool.h"
#include "frugal/io/checkpoint.h"
#include "frugal/tokenizer/deepseek_pretokenizer.h"
#include "frugal/tokenizer/utf8.h"

namespace frugal {
namespace {

constexpr std::size_t npos = std::string_view::npos;

// The text between special tokens. At each point the leftmost occurrence
// wins, the longest one when several start at the same byte: the rule of
// Tokenizer::encode's added-token trie.
std::vector<std::string_view> text_between_specials(std::string_view text, const std::vector<std::string>& specials) {
  std::vector<std::string_view> segments;
  std::vector<std::size_t> next(specials.size());
  for (std::size_t k = 0; k < specials.size(); ++k) next[k] = text.find(specials[k]);
  std::size_t pos = 0;
  for (;;) {
    std::size_t best = npos, length = 0;
    for (std::size_t k = 0; k < specials.size(); ++k) {
      // An occurrence that overlaps the previous match no longer counts.
      if (next[k] != npos && next[k] < pos) next[k] = text.find(specials[k], pos);
      if (next[k] == npos) continue;
      if (next[k] < best || (next[k] == best && specials[k].size() > length)) {
        best = next[k];
        length = specials[k].size();
      }
    }
    if (best == npos) break;
    if (best > pos) segments.push_back(text.substr(pos, best - pos));
    pos = best + length;
  }
  if (pos < text.size()) segments.push_back(text.substr(pos));
  return segments;
}

// Cuts `segment` into chunks of at least `chunk_bytes`, each ending after a
// '\n' that is followed by a visible ASCII character. Every match of the
// DeepSeek regexes that contains a line break ends with it, and none starts
// with one before a visible character, so no piece crosses such a point.
void cut_into_chunks(std::string_view segment, std::size_t chunk_bytes, std::vector<std::string_view>& chunks) {
  std::size_t begin = 0;
  while (segment.size() - begin > chunk_bytes) {
    std::size_t cut = npos;
    for (std::size_t p = segment.find('\n', begin + chunk_bytes - 1); p != npos && p + 1 < segment.size();
         p = segment.find('\n', p + 1)) {
      const char c = segment[p + 1];
      if (c >= '!' && c <= '~') {
        cut = p + 1;
        break;
      }
    }
    if (cut == npos) break;
    chunks.push_back(segment.substr(begin, cut - begin));
    begin = cut;
  }
  chunks.push_back(segment.substr(begin));
}

}  // namespace

PieceCounter::PieceCounter(std::vector<std::string> special_tokens, std::size_t chunk_bytes, int digit_group)
    : special_tokens_(std::move(special_tokens)),
      chunk_bytes_(std::max<std::size_t>(chunk_bytes, 1)),
      pre_tokenizer_(deepseek_v3_pre_tokenizer(digit_group)) {}

std::size_t PieceCounter::add_text(std::string_view text) {
  const std::size_t first_invalid = first_invalid_utf8(text);
  std::string sanitized;
  if (first_invalid != npos) {
    sanitized = sanitize_utf8(text);
    text = sanitized;
  }
  bytes_ += static_cast<int64_t>(text.size());

  std::vector<std::string_view> chunks;
  for (std::string_view segment : text_between_specials(text, special_tokens_))
    cut_into_chunks(segment, chunk_bytes_, chunks);

  std::mutex mutex;
  std::exception_ptr failure;  // the pool does not carry exceptions across threads
  ThreadPool::global().parallel_for(chunks.size(), [&](std::size_t begin, std::size_t end) {
    try {
      PieceCountMap local;
      int64_t local_pieces = 0;
      for (std::size_t i = begin; i < end; ++i) {
        for (std::string_view piece : pre_tokenizer_.split(chunks[i])) {
          if (const auto it = local.find(piece); it != local.end()) {
            ++it->second;
          } else {
            local.emplace(std::string(piece), 1);
          }
          ++local_pieces;
        }
      }
      const std::lock_guard lock(mutex);
      for (const auto& [piece, count] : local) counts_.try_emplace(piece, 0).first->second += count;
      pieces_ += local_pieces;
    } catch (...) {
      const std::lock_guard lock(mutex);
      if (!failure) failure = std::current_exception();
    }
  });
  if (failure) std::rethrow_exception(failure);
  return first_invalid;
}

void PieceCounter::add_file(const std::string& path, bool progress) {
  if (!std::filesystem::is_regular_file(path)) fail(path, ": not a readable file (training input)");
  const std::string text = read_text_file(path);
  const std::size_t first_invalid = add_text(text);
  if (first_invalid != npos)
    std::fprintf(stderr, "warning: %s: invalid UTF-8 at byte %zu; invalid sequences were replaced by U+FFFD\n",
                 path.c_str(), first_invalid);
  if (progress)
    std::fprintf(stderr, "counted %s: %.1f MB; %lld pieces, %zu distinct so far\n", path.c_str(),
                 static_cast<double>(text.size()) / 1e6, static_cast<long long>(pieces_), counts_.size());
}

}  // namespace frugal
