#include "frugal/rl/decimal.h"

#include <algorithm>
#include <vector>

namespace frugal::rl {

std::string strip_leading_zeros(std::string_view digits) {
  while (digits.size() > 1 && digits.front() == '0') digits.remove_prefix(1);
  return std::string(digits.empty() ? "0" : digits);
}

std::string random_decimal(ProblemRng& rng, int digits) {
  std::string out;
  for (int i = 0; i < digits; ++i)
    out += static_cast<char>('0' + rng.uniform(i == 0 && digits > 1 ? 1 : 0, 9));
  return out;
}

int compare_decimal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b);
}

std::string add_decimal(std::string_view a, std::string_view b) {
  std::string out;
  int carry = 0;
  for (std::size_t i = 0; i < std::max(a.size(), b.size()) || carry; ++i) {
    int sum = carry;
    if (i < a.size()) sum += a[a.size() - 1 - i] - '0';
    if (i < b.size()) sum += b[b.size() - 1 - i] - '0';
    out += static_cast<char>('0' + sum % 10);
    carry = sum / 10;
  }
  std::reverse(out.begin(), out.end());
  return strip_leading_zeros(out);
}

std::string subtract_decimal(std::string_view a, std::string_view b) {
  std::string out;
  int borrow = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    int d = (a[a.size() - 1 - i] - '0') - borrow;
    if (i < b.size()) d -= b[b.size() - 1 - i] - '0';
    borrow = d < 0;
    out += static_cast<char>('0' + d + 10 * borrow);
  }
  std::reverse(out.begin(), out.end());
  return strip_leading_zeros(out);
}

std::string multiply_decimal(std::string_view a, std::string_view b) {
  std::vector<int> sums(a.size() + b.size(), 0);
  for (std::size_t i = 0; i < a.size(); ++i)
    for (std::size_t j = 0; j < b.size(); ++j)
      sums[i + j] += (a[a.size() - 1 - i] - '0') * (b[b.size() - 1 - j] - '0');
  std::string out;
  int carry = 0;
  for (int s : sums) {
    s += carry;
    out += static_cast<char>('0' + s % 10);
    carry = s / 10;
  }
  for (; carry > 0; carry /= 10) out += static_cast<char>('0' + carry % 10);
  std::reverse(out.begin(), out.end());
  return strip_leading_zeros(out);
}

}  // namespace frugal::rl
