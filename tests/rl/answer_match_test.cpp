// Normalised exact match: trimming, exact numeric comparison of any length,
// text comparison otherwise; digit credit for nearly right integers.
#include <gtest/gtest.h>

#include "frugal/rl/answer_match.h"

namespace frugal::rl {
namespace {

TEST(AnswerMatch, TrimsAndComparesNumbersByValue) {
  EXPECT_TRUE(answers_match("132", " 132\n"));
  EXPECT_TRUE(answers_match("7", "007"));
  EXPECT_TRUE(answers_match("2.5", "2.50"));
  EXPECT_TRUE(answers_match("12", "12.0"));
  EXPECT_TRUE(answers_match("0", "-0"));
  EXPECT_TRUE(answers_match("5", "+5"));
  EXPECT_TRUE(answers_match("123456789012345678901234567890", "123456789012345678901234567890"));
  EXPECT_FALSE(answers_match("123456789012345678901234567890", "123456789012345678901234567891"));
  EXPECT_FALSE(answers_match("132", "131"));
  EXPECT_FALSE(answers_match("-3", "3"));
  EXPECT_FALSE(answers_match("132", ""));
  EXPECT_FALSE(answers_match("132", "132."));
  EXPECT_FALSE(answers_match("1000", "1,000"));
}

TEST(AnswerMatch, ComparesTextExactlyAfterTrimming) {
  EXPECT_TRUE(answers_match("Paris", "  Paris "));
  EXPECT_FALSE(answers_match("Paris", "paris"));
  EXPECT_FALSE(answers_match("x = 3", "x=3"));
}

TEST(CanonicalNumber, SpellsNumbersOneWay) {
  EXPECT_EQ(canonical_number("-0012.3400").value(), "-12.34");
  EXPECT_EQ(canonical_number("0.000").value(), "0");
  EXPECT_EQ(canonical_number("-0.0").value(), "0");
  for (const char* bad : {"", "-", "+", ".5", "5.", "1e3", "1 2", " 1", "0x10", "--1", "1.2.3"})
    EXPECT_FALSE(canonical_number(bad).has_value()) << bad;
}

TEST(DigitCredit, CountsRightDigitsFromTheRight) {
  EXPECT_DOUBLE_EQ(digit_credit("1234", "1235"), 0.75);
  EXPECT_DOUBLE_EQ(digit_credit("1234", "1234"), 1.0);
  EXPECT_DOUBLE_EQ(digit_credit("1234", "234"), 0.75);     // a digit missing at the front
  EXPECT_DOUBLE_EQ(digit_credit("234", "91234"), 0.6);     // two extra digits
  EXPECT_DOUBLE_EQ(digit_credit("-12", "-13"), 0.5);
  EXPECT_DOUBLE_EQ(digit_credit("12", "-12"), 0.0);        // wrong sign
  EXPECT_DOUBLE_EQ(digit_credit("12", "twelve"), 0.0);
  EXPECT_DOUBLE_EQ(digit_credit("12", "1.2"), 0.0);
}

}  // namespace
}  // namespace frugal::rl
