#include "snapshot_names.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

TEST(SnapshotNames, FormatsUtcSeconds) {
  EXPECT_EQ(FormatSnapshotName(0), "1970-01-01T000000Z");
  EXPECT_EQ(FormatSnapshotName(1796090400), "2026-12-01T020000Z");
  EXPECT_EQ(FormatSnapshotName(951782400), "2000-02-29T000000Z");
}

TEST(SnapshotNames, ParsesWhatItFormats) {
  for (std::time_t when : {0L, 951782400L, 1796090400L, 1796090400L + 86399L, 4102444799L})
    EXPECT_EQ(ParseSnapshotName(FormatSnapshotName(when)), when) << when;
}

TEST(SnapshotNames, RefusesEverythingElse) {
  for (const char* name : {"",
                           "latest",
                           ".rrsync-incoming-2026-12-01T020000Z",
                           "2026-12-01T020000",
                           "2026-12-01T020000z",
                           "2026-12-01 020000Z",
                           "2026-12-01T02:00:00Z",
                           "2026-13-01T020000Z",
                           "2026-00-01T020000Z",
                           "2026-02-29T020000Z",
                           "1900-02-29T000000Z",
                           "2026-04-31T020000Z",
                           "2026-12-01T240000Z",
                           "2026-12-01T026000Z",
                           "2026-12-01T020060Z",
                           "1969-12-31T235959Z",
                           "2026-12-01T020000Z ",
                           "+026-12-01T020000Z",
                           "2026-12-01T02000aZ",
                           "2026-12-01T020000Z/"})
    EXPECT_FALSE(ParseSnapshotName(name)) << name;
  EXPECT_TRUE(ParseSnapshotName("2024-02-29T235959Z"));
}

TEST(SnapshotNames, SortsOldestFirstAndDropsOtherNames) {
  EXPECT_EQ(SortedSnapshotNames({"latest", "2026-12-02T000000Z", ".rrsync-incoming-x",
                                 "2025-01-01T000000Z", "2026-12-02T000000Z", "notes.txt"}),
            (std::vector<std::string>{"2025-01-01T000000Z", "2026-12-02T000000Z"}));
}

}  // namespace
}  // namespace rrsync
