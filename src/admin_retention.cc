#include "admin_retention.h"

#include <cstdio>
#include <functional>

#include "snapshot_names.h"

namespace rrsync {

namespace {

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

std::tm Utc(std::time_t when) {
  std::tm utc{};
  gmtime_r(&when, &utc);
  return utc;
}

std::string DayOf(std::time_t when) {
  const std::tm utc = Utc(when);
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday);
  return text;
}

std::string MonthOf(std::time_t when) {
  const std::tm utc = Utc(when);
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d", utc.tm_year + 1900, utc.tm_mon + 1);
  return text;
}

}  // namespace

std::string IsoWeekOf(std::time_t when) {
  const std::tm utc = Utc(when);
  // The ISO week belongs to the year that holds its Thursday.
  int year = utc.tm_year + 1900;
  const int weekday = (utc.tm_wday + 6) % 7;  // Monday 0 ... Sunday 6
  int thursday = utc.tm_yday - weekday + 3;   // day of the year of this week's Thursday
  if (thursday < 0) {
    --year;
    thursday += IsLeapYear(year) ? 366 : 365;
  } else if (thursday >= (IsLeapYear(year) ? 366 : 365)) {
    thursday -= IsLeapYear(year) ? 366 : 365;
    ++year;
  }
  char text[32];
  std::snprintf(text, sizeof text, "%04d-W%02d", year, thursday / 7 + 1);
  return text;
}

std::vector<RetentionVerdict> DecideRetention(const std::vector<std::string>& names,
                                              const RetentionPolicy& policy,
                                              const std::string& latest) {
  const std::vector<std::string> sorted = SortedSnapshotNames(names);
  std::vector<RetentionVerdict> verdicts(sorted.size());
  struct Rule {
    const char* label;
    int left;
    std::function<std::string(std::time_t, size_t)> bucket;
    std::string last_bucket;
  };
  std::vector<Rule> rules = {
      {"last", policy.last, [](std::time_t, size_t i) { return std::to_string(i); }, ""},
      {"daily", policy.daily, [](std::time_t t, size_t) { return DayOf(t); }, ""},
      {"weekly", policy.weekly, [](std::time_t t, size_t) { return IsoWeekOf(t); }, ""},
      {"monthly", policy.monthly, [](std::time_t t, size_t) { return MonthOf(t); }, ""},
  };
  size_t rank = 0;  // 1 for the newest snapshot
  for (size_t i = sorted.size(); i-- > 0;) {
    ++rank;
    RetentionVerdict& verdict = verdicts[i];
    verdict.name = sorted[i];
    const std::time_t when = *ParseSnapshotName(sorted[i]);
    if (sorted[i] == latest) verdict.reasons.push_back("latest");
    for (Rule& rule : rules) {
      if (rule.left <= 0) continue;
      const std::string bucket = rule.bucket(when, rank);
      if (bucket == rule.last_bucket) continue;
      rule.last_bucket = bucket;
      --rule.left;
      verdict.reasons.push_back(std::string(rule.label) + " " + bucket);
    }
  }
  return verdicts;
}

}  // namespace rrsync
