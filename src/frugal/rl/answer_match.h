#pragma once
// Comparing an answer with a reference answer by normalised exact match:
// both trimmed; when both read as decimal numbers they are compared as
// numbers (exactly, any length: "007" = "7", "2.50" = "2.5", "-0" = "0"),
// otherwise as text. Numbers: an optional sign, digits, optionally a point
// and more digits ("12", "-3", "+4.50", "0.5"; not ".5", "1e3" or "1,000").
#include <optional>
#include <string>
#include <string_view>

namespace frugal::rl {

// Without leading and trailing whitespace (space, tab, newline, CR, FF, VT).
std::string_view trim(std::string_view text);

// The canonical spelling of a decimal number ("-12.5", "0", "3"), or nullopt
// if `text` (not trimmed) is not one.
std::optional<std::string> canonical_number(std::string_view text);

bool answers_match(std::string_view reference, std::string_view answer);

// For integer answers: the fraction of digit positions, aligned from the
// right, where `answer` has the reference's digit, over the longer of the
// two ("1234" against "1235" = 0.75); 0 unless both are integers of the same
// sign. 1 exactly when they match.
double digit_credit(std::string_view reference, std::string_view answer);

}  // namespace frugal::rl
