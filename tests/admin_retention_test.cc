#include "admin_retention.h"

#include <gtest/gtest.h>

#include <set>

#include "snapshot_names.h"

namespace rrsync {
namespace {

std::time_t At(const char* name) { return *ParseSnapshotName(name); }

// One snapshot at 02:00 UTC every day from `first` to `last` (snapshot names), both included.
std::vector<std::string> Daily(const char* first, const char* last) {
  std::vector<std::string> names;
  for (std::time_t t = At(first); t <= At(last); t += 86400) names.push_back(FormatSnapshotName(t));
  return names;
}

std::set<std::string> Kept(const std::vector<RetentionVerdict>& verdicts) {
  std::set<std::string> kept;
  for (const RetentionVerdict& v : verdicts)
    if (v.keep()) kept.insert(v.name);
  return kept;
}

const RetentionVerdict* Find(const std::vector<RetentionVerdict>& verdicts,
                             const std::string& name) {
  for (const RetentionVerdict& v : verdicts)
    if (v.name == name) return &v;
  return nullptr;
}

// The reasons that keep `name`, or {"<not in the verdicts>"}: never a null dereference.
std::vector<std::string> ReasonsOf(const std::vector<RetentionVerdict>& verdicts,
                                   const std::string& name) {
  const RetentionVerdict* v = Find(verdicts, name);
  return v == nullptr ? std::vector<std::string>{"<not in the verdicts>"} : v->reasons;
}

TEST(IsoWeek, YearBoundaries) {
  EXPECT_EQ(IsoWeekOf(At("2019-12-30T000000Z")), "2020-W01");  // a Monday in 2019
  EXPECT_EQ(IsoWeekOf(At("2020-12-27T235959Z")), "2020-W52");
  EXPECT_EQ(IsoWeekOf(At("2020-12-28T000000Z")), "2020-W53");
  EXPECT_EQ(IsoWeekOf(At("2021-01-03T235959Z")), "2020-W53");  // a Sunday in 2021
  EXPECT_EQ(IsoWeekOf(At("2021-01-04T000000Z")), "2021-W01");
  EXPECT_EQ(IsoWeekOf(At("2024-12-30T120000Z")), "2025-W01");
  EXPECT_EQ(IsoWeekOf(At("2026-12-31T120000Z")), "2026-W53");
  EXPECT_EQ(IsoWeekOf(At("2027-01-03T120000Z")), "2026-W53");
  EXPECT_EQ(IsoWeekOf(At("2027-01-04T000000Z")), "2027-W01");
}

TEST(IsoWeek, LeapDay) {
  EXPECT_EQ(IsoWeekOf(At("2020-02-29T120000Z")), "2020-W09");  // a Saturday
  EXPECT_EQ(IsoWeekOf(At("2020-03-01T120000Z")), "2020-W09");  // the Sunday after
  EXPECT_EQ(IsoWeekOf(At("2020-03-02T000000Z")), "2020-W10");
  EXPECT_EQ(IsoWeekOf(At("2024-02-29T120000Z")), "2024-W09");  // a Thursday
}

// Two years of nightly snapshots, 2019-12-01 to 2021-11-30 (2020 is a leap year and has an ISO
// week 53), with a second snapshot on two of the last days.
std::vector<std::string> TwoYears() {
  std::vector<std::string> names = Daily("2019-12-01T020000Z", "2021-11-30T020000Z");
  names.push_back("2021-11-30T140000Z");
  names.push_back("2021-11-28T230000Z");
  return names;
}

TEST(Retention, TwoYearsDailyWeeklyMonthly) {
  const std::vector<std::string> names = TwoYears();
  ASSERT_EQ(names.size(), 731u + 2u);
  RetentionPolicy policy;
  policy.daily = 7;
  policy.weekly = 4;
  policy.monthly = 24;
  const auto verdicts = DecideRetention(names, policy, "2021-11-30T140000Z");
  ASSERT_EQ(verdicts.size(), names.size());
  EXPECT_EQ(
      Kept(verdicts),
      (std::set<std::string>{
          // daily: the newest of each of the 7 newest days (two on the 30th and 28th)
          "2021-11-30T140000Z", "2021-11-29T020000Z", "2021-11-28T230000Z", "2021-11-27T020000Z",
          "2021-11-26T020000Z", "2021-11-25T020000Z", "2021-11-24T020000Z",
          // weekly: W48 (the 30th), W47 (the 28th, above), W46 and W45 end on Sundays
          "2021-11-21T020000Z", "2021-11-14T020000Z",
          // monthly: the last day of each month, the leap day for February 2020
          "2021-10-31T020000Z", "2021-09-30T020000Z", "2021-08-31T020000Z", "2021-07-31T020000Z",
          "2021-06-30T020000Z", "2021-05-31T020000Z", "2021-04-30T020000Z", "2021-03-31T020000Z",
          "2021-02-28T020000Z", "2021-01-31T020000Z", "2020-12-31T020000Z", "2020-11-30T020000Z",
          "2020-10-31T020000Z", "2020-09-30T020000Z", "2020-08-31T020000Z", "2020-07-31T020000Z",
          "2020-06-30T020000Z", "2020-05-31T020000Z", "2020-04-30T020000Z", "2020-03-31T020000Z",
          "2020-02-29T020000Z", "2020-01-31T020000Z", "2019-12-31T020000Z"}));
  const RetentionVerdict* newest = Find(verdicts, "2021-11-30T140000Z");
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(newest->reasons, (std::vector<std::string>{"latest", "daily 2021-11-30",
                                                       "weekly 2021-W48", "monthly 2021-11"}));
  const RetentionVerdict* leap = Find(verdicts, "2020-02-29T020000Z");
  ASSERT_NE(leap, nullptr);
  EXPECT_EQ(leap->reasons, (std::vector<std::string>{"monthly 2020-02"}));
  // The same day's earlier snapshot loses to the later one in every rule.
  const RetentionVerdict* morning = Find(verdicts, "2021-11-30T020000Z");
  ASSERT_NE(morning, nullptr);
  EXPECT_FALSE(morning->keep());
  // The verdicts come oldest first.
  EXPECT_EQ(verdicts.front().name, "2019-12-01T020000Z");
  EXPECT_EQ(verdicts.back().name, "2021-11-30T140000Z");
}

TEST(Retention, MonthlyCountStopsAtItsN) {
  RetentionPolicy policy;
  policy.monthly = 23;
  const auto kept = Kept(DecideRetention(TwoYears(), policy, ""));
  EXPECT_EQ(kept.size(), 23u);
  EXPECT_EQ(kept.count("2020-01-31T020000Z"), 1u);
  EXPECT_EQ(kept.count("2019-12-31T020000Z"), 0u);
  EXPECT_EQ(*kept.rbegin(), "2021-11-30T140000Z");
}

TEST(Retention, WeeklyAcrossIsoWeek53) {
  const std::vector<std::string> names = {"2020-12-27T020000Z", "2020-12-28T020000Z",
                                          "2021-01-03T020000Z", "2021-01-04T020000Z"};
  RetentionPolicy policy;
  policy.weekly = 3;
  const auto verdicts = DecideRetention(names, policy, "");
  EXPECT_EQ(Kept(verdicts), (std::set<std::string>{"2020-12-27T020000Z", "2021-01-03T020000Z",
                                                   "2021-01-04T020000Z"}));
  EXPECT_EQ(ReasonsOf(verdicts, "2021-01-03T020000Z"),
            (std::vector<std::string>{"weekly 2020-W53"}));
  policy = RetentionPolicy();
  policy.monthly = 2;  // months are calendar months: 2020-12-28 is December's newest
  EXPECT_EQ(Kept(DecideRetention(names, policy, "")),
            (std::set<std::string>{"2021-01-04T020000Z", "2020-12-28T020000Z"}));
}

TEST(Retention, MonthEndsAndSeveralPerDay) {
  const std::vector<std::string> names = {"2024-01-31T235959Z", "2024-02-01T000000Z",
                                          "2024-02-29T000000Z", "2024-02-29T235959Z",
                                          "2024-03-01T000000Z", "2024-03-01T000001Z"};
  RetentionPolicy policy;
  policy.daily = 3;
  EXPECT_EQ(
      Kept(DecideRetention(names, policy, "")),
      (std::set<std::string>{"2024-03-01T000001Z", "2024-02-29T235959Z", "2024-02-01T000000Z"}));
  policy = RetentionPolicy();
  policy.monthly = 3;
  EXPECT_EQ(
      Kept(DecideRetention(names, policy, "")),
      (std::set<std::string>{"2024-03-01T000001Z", "2024-02-29T235959Z", "2024-01-31T235959Z"}));
}

TEST(Retention, KeepLastCountsSnapshotsNotDays) {
  const std::vector<std::string> names = {"2026-12-01T010000Z", "2026-12-01T020000Z",
                                          "2026-12-01T030000Z", "2026-11-30T030000Z"};
  RetentionPolicy policy;
  policy.last = 2;
  const auto verdicts = DecideRetention(names, policy, "");
  EXPECT_EQ(Kept(verdicts), (std::set<std::string>{"2026-12-01T020000Z", "2026-12-01T030000Z"}));
  EXPECT_EQ(ReasonsOf(verdicts, "2026-12-01T030000Z"), (std::vector<std::string>{"last 1"}));
  EXPECT_EQ(ReasonsOf(verdicts, "2026-12-01T020000Z"), (std::vector<std::string>{"last 2"}));
}

TEST(Retention, GapsDoNotCount) {
  // Backups stopped for a month: --keep-daily 3 still keeps three snapshots.
  const std::vector<std::string> names = {"2026-10-01T020000Z", "2026-10-02T020000Z",
                                          "2026-10-03T020000Z", "2026-11-15T020000Z"};
  RetentionPolicy policy;
  policy.daily = 3;
  EXPECT_EQ(
      Kept(DecideRetention(names, policy, "")),
      (std::set<std::string>{"2026-10-02T020000Z", "2026-10-03T020000Z", "2026-11-15T020000Z"}));
}

TEST(Retention, LatestIsAlwaysKept) {
  // latest may name an older snapshot (a clock set back); no rule may remove it.
  const std::vector<std::string> names = Daily("2026-11-01T020000Z", "2026-11-30T020000Z");
  RetentionPolicy policy;
  policy.last = 1;
  const auto verdicts = DecideRetention(names, policy, "2026-11-03T020000Z");
  EXPECT_EQ(Kept(verdicts), (std::set<std::string>{"2026-11-03T020000Z", "2026-11-30T020000Z"}));
  EXPECT_EQ(ReasonsOf(verdicts, "2026-11-03T020000Z"), (std::vector<std::string>{"latest"}));
}

TEST(Retention, IgnoresOtherNamesAndDuplicates) {
  const std::vector<std::string> names = {"latest",
                                          ".rrsync-incoming-x",
                                          "2026-12-01T020000Z",
                                          "2026-12-01T020000Z",
                                          "2026-13-01T020000Z",
                                          "2026-12-01T020000Z.old"};
  RetentionPolicy policy;
  policy.last = 5;
  const auto verdicts = DecideRetention(names, policy, "");
  ASSERT_EQ(verdicts.size(), 1u);
  EXPECT_EQ(verdicts[0].name, "2026-12-01T020000Z");
  EXPECT_TRUE(verdicts[0].keep());
}

TEST(Retention, NoRuleKeepsOnlyLatest) {
  RetentionPolicy policy;
  EXPECT_FALSE(policy.KeepsAny());
  const auto verdicts =
      DecideRetention({"2026-12-01T020000Z", "2026-12-02T020000Z"}, policy, "2026-12-02T020000Z");
  EXPECT_EQ(Kept(verdicts), (std::set<std::string>{"2026-12-02T020000Z"}));
}

}  // namespace
}  // namespace rrsync
