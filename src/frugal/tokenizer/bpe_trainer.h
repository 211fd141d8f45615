#pragma once
// Learns a byte-level BPE vocabulary from piece counts (piece_counts.h).
//
// Ids: the special tokens come first (0 = BOS "<｜begin▁of▁sentence｜>",
// 1 = EOS "<｜end▁of▁sentence｜>", then the extra ones in the order given),
// then the 256 byte tokens in byte order, then one token per merge in the
// order learnt. Training starts from the bytes and repeatedly merges the
// adjacent pair with the highest count over all pieces; ties go to the pair
// of smaller ids (left, then right), so a corpus always gives the same
// vocabulary. Pair counts are updated incrementally from an index of the
// pieces holding each pair, so a merge costs time in the pieces it touches,
// not in the corpus.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "frugal/tokenizer/piece_counts.h"

namespace frugal {

// DeepSeek's spellings (fullwidth bars, U+2581 for spaces).
inline constexpr std::string_view kBosToken = "<｜begin▁of▁sentence｜>";
inline constexpr std::string_view kEosToken = "<｜end▁of▁sentence｜>";

// BOS, EOS, then `extra` (each non-empty, valid UTF-8, none twice).
std::vector<std::string> special_tokens_with_bos_eos(const std::vector<std::string>& extra);

struct BpeTrainerOptions {
  int32_t vocab_size = 0;     // the target, special tokens included
  int64_t min_frequency = 2;  // pairs seen fewer times are never merged
  bool progress = false;      // a line on stderr every few seconds
};

struct TrainedBpe {
  std::vector<std::string> special_tokens;          // ids 0 .. size-1
  std::vector<std::string> tokens;                  // id -> raw bytes (specials: their text)
  std::vector<std::pair<int32_t, int32_t>> merges;  // rank order; may exceed the new tokens (see below)
  int digit_group = 3;  // digits per pre-token piece the counts were made with (written to tokenizer.json)
  // Why training stopped before vocab_size, or empty when it got there.
  std::string stopped_early;

  int32_t vocab_size() const { return static_cast<int32_t>(tokens.size()); }
  int32_t byte_token(unsigned char byte) const { return static_cast<int32_t>(special_tokens.size()) + byte; }
};

// `special_tokens` from special_tokens_with_bos_eos. The vocabulary reaches
// options.vocab_size unless the corpus runs out of pairs seen at least
// min_frequency times (then `stopped_early` says so). Two merges can make
// the same bytes ("ab"+"c", "a"+"bc"): both are kept as merges, the token
// once, as Hugging Face's trainer does. No learnt token can spell a special
// token: pieces come from the text between special tokens, and a token's
// bytes lie inside one piece.
TrainedBpe train_bpe(const PieceCountMap& pieces, const std::vector<std::string>& special_tokens,
                     const BpeTrainerOptions& options);

}  // namespace frugal
