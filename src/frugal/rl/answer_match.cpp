#include "frugal/rl/answer_match.h"

#include <algorithm>

namespace frugal::rl {
namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::optional<std::string> canonical_number(std::string_view text) {
  bool negative = false;
  if (!text.empty() && (text.front() == '-' || text.front() == '+')) {
    negative = text.front() == '-';
    text.remove_prefix(1);
  }
  const std::size_t point = text.find('.');
  std::string_view whole = text.substr(0, point);
  std::string_view fraction = point == std::string_view::npos ? std::string_view() : text.substr(point + 1);
  if (whole.empty() || !std::all_of(whole.begin(), whole.end(), is_digit)) return std::nullopt;
  if (point != std::string_view::npos && (fraction.empty() || !std::all_of(fraction.begin(), fraction.end(), is_digit)))
    return std::nullopt;
  while (whole.size() > 1 && whole.front() == '0') whole.remove_prefix(1);
  while (!fraction.empty() && fraction.back() == '0') fraction.remove_suffix(1);
  std::string out;
  if (negative && !(whole == "0" && fraction.empty())) out += '-';  // "-0" is 0
  out += whole;
  if (!fraction.empty()) out.append(".").append(fraction);
  return out;
}

bool answers_match(std::string_view reference, std::string_view answer) {
  reference = trim(reference);
  answer = trim(answer);
  const std::optional<std::string> a = canonical_number(reference), b = canonical_number(answer);
  if (a && b) return *a == *b;
  return reference == answer;
}

double digit_credit(std::string_view reference, std::string_view answer) {
  const std::optional<std::string> a = canonical_number(trim(reference)), b = canonical_number(trim(answer));
  if (!a || !b || a->find('.') != std::string::npos || b->find('.') != std::string::npos) return 0.0;
  if ((a->front() == '-') != (b->front() == '-')) return 0.0;
  std::string_view x = *a, y = *b;
  if (x.front() == '-') x.remove_prefix(1), y.remove_prefix(1);
  const std::size_t longest = std::max(x.size(), y.size());
  std::size_t same = 0;
  for (std::size_t i = 0; i < std::min(x.size(), y.size()); ++i)
    if (x[x.size() - 1 - i] == y[y.size() - 1 - i]) ++same;
  return static_cast<double>(same) / static_cast<double>(longest);
}

}  // namespace frugal::rl
