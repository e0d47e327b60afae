#include "snapshot_names.h"

#include <algorithm>
#include <cstdio>

namespace rrsync {

namespace {

// Days from 1970-01-01 to year-month-day in the proleptic Gregorian calendar (Howard Hinnant's
// days_from_civil), so that parsing needs neither timegm's locale nor the TZ environment.
long long DaysFromCivil(int year, int month, int day) {
  year -= month <= 2;
  const long long era = (year >= 0 ? year : year - 399) / 400;
  const unsigned year_of_era = static_cast<unsigned>(year - era * 400);
  const unsigned day_of_year = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1;
  const unsigned day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return era * 146097 + static_cast<long long>(day_of_era) - 719468;
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// Reads `count` decimal digits at text[pos]; false if any is not a digit.
bool ReadDigits(std::string_view text, size_t pos, size_t count, int* value) {
  *value = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (text[i] < '0' || text[i] > '9') return false;
    *value = *value * 10 + (text[i] - '0');
  }
  return true;
}

}  // namespace

std::string FormatSnapshotName(std::time_t when) {
  std::tm utc{};
  gmtime_r(&when, &utc);
  char name[80];
  std::snprintf(name, sizeof name, "%04d-%02d-%02dT%02d%02d%02dZ", utc.tm_year + 1900,
                utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec);
  return name;
}

std::optional<std::time_t> ParseSnapshotName(std::string_view name) {
  // 0123456789012345678
  // YYYY-MM-DDTHHMMSSZ
  if (name.size() != 18 || name[4] != '-' || name[7] != '-' || name[10] != 'T' || name[17] != 'Z')
    return std::nullopt;
  int year, month, day, hour, minute, second;
  if (!ReadDigits(name, 0, 4, &year) || !ReadDigits(name, 5, 2, &month) ||
      !ReadDigits(name, 8, 2, &day) || !ReadDigits(name, 11, 2, &hour) ||
      !ReadDigits(name, 13, 2, &minute) || !ReadDigits(name, 15, 2, &second))
    return std::nullopt;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1970 || month < 1 || month > 12 || day < 1 || hour > 23 || minute > 59 || second > 59)
    return std::nullopt;
  const int month_days = kDaysInMonth[month - 1] + (month == 2 && IsLeapYear(year) ? 1 : 0);
  if (day > month_days) return std::nullopt;
  return static_cast<std::time_t>(DaysFromCivil(year, month, day) * 86400LL + hour * 3600LL +
                                  minute * 60LL + second);
}

std::vector<std::string> SortedSnapshotNames(const std::vector<std::string>& names) {
  std::vector<std::string> snapshots;
  for (const std::string& name : names)
    if (ParseSnapshotName(name)) snapshots.push_back(name);
  // The fixed-width format sorts by time as text.
  std::sort(snapshots.begin(), snapshots.end());
  snapshots.erase(std::unique(snapshots.begin(), snapshots.end()), snapshots.end());
  return snapshots;
}

}  // namespace rrsync
