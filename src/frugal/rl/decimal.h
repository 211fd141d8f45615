#pragma once
// Non-negative integers of any length as decimal digit strings ("0", "47",
// never a leading zero), so operands may have more digits than int64 holds.
#include <string>
#include <string_view>

#include "frugal/rl/problem_rng.h"

namespace frugal::rl {

// A uniformly drawn number of exactly `digits` digits (a one-digit number may be 0).
std::string random_decimal(ProblemRng& rng, int digits);

// <0, 0, >0 as a is less than, equal to or greater than b.
int compare_decimal(std::string_view a, std::string_view b);

std::string add_decimal(std::string_view a, std::string_view b);
// a - b for a >= b.
std::string subtract_decimal(std::string_view a, std::string_view b);
std::string multiply_decimal(std::string_view a, std::string_view b);

std::string strip_leading_zeros(std::string_view digits);

}  // namespace frugal::rl
