#include "module_route.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "server_command.h"

namespace rrsync {
namespace {

const std::vector<std::string> kModules{"backup", "logs"};

Route RouteOf(const std::string& command) { return RouteRequest(command, kModules); }

TEST(ModuleRoute, FirstComponentNamesTheModule) {
  Route r = RouteOf("rsync --server --sender -logDtpre.iLsfxCIvu . logs/2026/");
  ASSERT_EQ(r.kind, Route::Kind::kModule) << r.refusal;
  EXPECT_EQ(r.module, "logs");
  EXPECT_EQ(r.command, "rsync --server --sender -logDtpre.iLsfxCIvu . 2026/");
}

TEST(ModuleRoute, TheModuleAloneIsItsTop) {
  for (const char* arg : {"logs", "logs/", "/logs", "//logs/"}) {
    Route r = RouteOf(std::string("rsync --server --sender -logDtpre.iLsfxCIvu . ") + arg);
    ASSERT_EQ(r.kind, Route::Kind::kModule) << arg;
    EXPECT_EQ(r.command, "rsync --server --sender -logDtpre.iLsfxCIvu . .") << arg;
  }
  Route push = RouteOf("rsync --server -logDtpre.iLsfxCIvu . backup");
  ASSERT_EQ(push.kind, Route::Kind::kModule);
  EXPECT_EQ(push.module, "backup");
  EXPECT_EQ(push.command, "rsync --server -logDtpre.iLsfxCIvu . .");
}

TEST(ModuleRoute, EscapesAndOptionArgumentsStayAsTheyAre) {
  Route r = RouteOf(
      "rsync --server -logDtpRe.LsfxCIvu --partial-dir .p --log-format=%i . backup/a\\ b/c\\*");
  ASSERT_EQ(r.kind, Route::Kind::kModule) << r.refusal;
  EXPECT_EQ(r.command,
            "rsync --server -logDtpRe.LsfxCIvu --partial-dir .p --log-format=%i . a\\ b/c\\*");
  // The separate argument of --partial-dir is not a file argument, even when it is ".".
  Route dot = RouteOf("rsync --server -logDtpre.iLsfxCIvu --temp-dir . . backup/x");
  ASSERT_EQ(dot.kind, Route::Kind::kModule) << dot.refusal;
  EXPECT_EQ(dot.command, "rsync --server -logDtpre.iLsfxCIvu --temp-dir . . x");
  // An escaped module name is still that name.
  Route escaped = RouteOf("rsync --server --sender -r . l\\ogs/x");
  ASSERT_EQ(escaped.kind, Route::Kind::kModule);
  EXPECT_EQ(escaped.module, "logs");
}

TEST(ModuleRoute, OneRequestStaysInsideOneModule) {
  Route r = RouteOf("rsync --server --sender -r . logs/a backup/b");
  ASSERT_EQ(r.kind, Route::Kind::kRefuse);
  EXPECT_EQ(r.refusal, "a request must stay inside one module: it names logs and backup");
  Route same = RouteOf("rsync --server --sender -r . logs/a logs/b");
  ASSERT_EQ(same.kind, Route::Kind::kModule);
  EXPECT_EQ(same.command, "rsync --server --sender -r . a b");
  Route top = RouteOf("rsync --server --sender -r . logs/a .");
  ASSERT_EQ(top.kind, Route::Kind::kRefuse);
  EXPECT_EQ(top.refusal, "a request must stay inside one module: every path must start with logs/");
}

TEST(ModuleRoute, UnknownModulesAreRefused) {
  Route r = RouteOf("rsync --server --sender -r . etc/passwd");
  ASSERT_EQ(r.kind, Route::Kind::kRefuse);
  EXPECT_EQ(r.refusal, "unknown module 'etc' (this key may use: backup, logs)");
  EXPECT_EQ(RouteOf("rsync --server --sender -r . ../logs/x").refusal,
            "unknown module '..' (this key may use: backup, logs)");
  EXPECT_EQ(RouteOf("rsync --server --sender -r . log*/x").refusal,
            "unknown module 'log*' (this key may use: backup, logs)");
  EXPECT_EQ(RouteRequest("rsync --server --sender -r . logs/x", {"backup"}).refusal,
            "unknown module 'logs' (this key may use: backup)");
}

TEST(ModuleRoute, PullOfTheTopListsModules) {
  EXPECT_EQ(RouteOf("rsync --server --sender -de.LsfxCIvu . .").kind, Route::Kind::kListModules);
  EXPECT_EQ(RouteOf("rsync --server --sender -logDtpre.iLsfxCIvu . /").kind,
            Route::Kind::kListModules);
  Route push = RouteOf("rsync --server -logDtpre.iLsfxCIvu . .");
  ASSERT_EQ(push.kind, Route::Kind::kRefuse);
  EXPECT_EQ(push.refusal,
            "name a module as the first component of the path (HOST:MODULE/PATH; this key may "
            "use: backup, logs)");
}

TEST(ModuleRoute, WhatDecideRefusesPassesThrough) {
  for (const char* command :
       {"true", "rrsync-probe v1", "ls", "rsync  --server . x",
        "rsync --server -r --no-such-option . logs/x", "rsync --server -r logs/x"}) {
    Route r = RouteOf(command);
    EXPECT_EQ(r.kind, Route::Kind::kPassThrough) << command;
    EXPECT_EQ(r.command, command);
  }
}

TEST(ModuleRoute, ATabAfterSenderIsNotMadeIntoAPull) {
  Route r = RouteOf("rsync --server --sender\t-r . logs/x");
  ASSERT_EQ(r.kind, Route::Kind::kRefuse);
  EXPECT_EQ(r.refusal, "option --sender has been disabled on this server.");
}

TEST(RefusedOption, LongNamesLettersAndPatterns) {
  const std::string push = "rsync --server -vlogDtprze.iLsfxCIvu --delete-after --bwlimit=5 . x";
  EXPECT_EQ(RefusedOption(push, {}, {}), std::nullopt);
  EXPECT_EQ(RefusedOption(push, {"z"}, {}), "option -z has been disabled on this server.");
  EXPECT_EQ(RefusedOption(push, {"compress"}, {}), "option -z has been disabled on this server.");
  EXPECT_EQ(RefusedOption(push, {"bwlimit"}, {}),
            "option --bwlimit has been disabled on this server.");
  EXPECT_EQ(RefusedOption(push, {"delete-*"}, {}),
            "option --delete-after has been disabled on this server.");
  // "delete" refuses what implies --delete, as in rsyncd.conf.
  EXPECT_EQ(RefusedOption(push, {"delete"}, {}),
            "option --delete-after has been disabled on this server.");
  EXPECT_EQ(RefusedOption(push, {"a"}, {}), "option -l has been disabled on this server.");
  // Letters after the "e" are capabilities, not options.
  EXPECT_EQ(RefusedOption(push, {"L", "f", "C"}, {}), std::nullopt);
  EXPECT_EQ(RefusedOption("rsync --server -B1024 . x", {"block-size"}, {}),
            "option -B has been disabled on this server.");
}

TEST(RefusedOption, SecludedArgsByEitherName) {
  // main asks about the -s of a secluded-args session with this command.
  const std::string secluded = "rsync --server -s .";
  for (const char* term : {"s", "secluded-args", "protect-args", "*"}) {
    EXPECT_EQ(RefusedOption(secluded, {term}, {}), "option -s has been disabled on this server.")
        << term;
  }
  EXPECT_EQ(RefusedOption(secluded, {"*"}, {"protect-args"}), std::nullopt);
  EXPECT_EQ(RefusedOption(secluded, {"z"}, {}), std::nullopt);
}

TEST(RefusedOption, AllowTakesBackWhatRefuseRefused) {
  const std::string pull = "rsync --server --sender -vlogDtpre.iLsfxCIvu --bwlimit=5 . x";
  EXPECT_EQ(RefusedOption(pull, {"*"}, {"a", "v", "bwlimit"}), std::nullopt);
  EXPECT_EQ(RefusedOption(pull, {"*"}, {"a", "bwlimit"}),
            "option -v has been disabled on this server.");
  // --server, --sender and -n are not refused by a wildcard.
  EXPECT_EQ(RefusedOption("rsync --server --sender -n . x", {"*"}, {}), std::nullopt);
  EXPECT_EQ(RefusedOption("rsync --server --sender -n . x", {"dry-run"}, {}),
            "option -n has been disabled on this server.");
}

TEST(RefusedOption, FileArgumentsAndOptionArgumentsAreNotOptions) {
  EXPECT_EQ(RefusedOption("rsync --server -r --partial-dir -z . -z", {"z"}, {}), std::nullopt);
}

}  // namespace
}  // namespace rrsync

namespace rrsync {
namespace {

// Random commands built from pieces that matter to the router: the rewrite never changes how
// many words there are or the option words, and a routed file argument never still starts with
// the module's name as a component of its own.
TEST(ModuleRoute, RewriteKeepsTheWordsItDoesNotRoute) {
  const std::vector<std::string> pieces = {
      "logs", "backup", "/",        "//", "\\ ", "\\/", "\\\\", ".",  "..",   "*",     "a b",
      "x",    "\t",     "\xc2\xa0", "-",  "--",  "=",   "\\",   "e.", "\xff", "/logs", "logs/"};
  const std::vector<std::string> options = {
      "-vlogDtpre.iLsfxCIvu", "--partial-dir", ".p",      "--temp-dir",
      "--bwlimit=3",          "-B1024",        "--sender"};
  uint32_t seed = 12345;
  auto next = [&](size_t n) {
    seed = seed * 1103515245 + 12345;
    return static_cast<size_t>((seed >> 16) % n);
  };
  int routed = 0;
  for (int round = 0; round < 20000; ++round) {
    std::string command = "rsync --server";
    if (next(2)) command += " --sender";
    for (size_t i = next(3); i > 0; --i) command += " " + options[next(options.size())];
    command += " .";
    for (size_t i = next(4); i > 0; --i) {
      command += " ";
      for (size_t j = next(4) + 1; j > 0; --j) command += pieces[next(pieces.size())];
    }
    Route r = RouteOf(command);
    if (r.kind != Route::Kind::kModule) continue;
    ++routed;
    std::vector<std::string> before = SplitServerWords(command.substr(6));
    std::vector<std::string> after = SplitServerWords(r.command.substr(6));
    ASSERT_EQ(before.size(), after.size()) << command << "\n" << r.command;
    size_t dot = std::find(before.begin(), before.end(), ".") - before.begin();
    for (size_t i = 0; i <= dot && i < before.size(); ++i)
      ASSERT_EQ(before[i], after[i]) << command << "\n" << r.command;
    EXPECT_TRUE(r.module == "logs" || r.module == "backup") << command;
  }
  EXPECT_GT(routed, 300);  // the generator does reach the rewrite
}

}  // namespace
}  // namespace rrsync
