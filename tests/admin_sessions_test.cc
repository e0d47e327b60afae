#include "admin_sessions.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "admin_test_util.h"

namespace rrsync {
namespace {

using admin_test::ReadFile;
using admin_test::RunCommand;
using admin_test::ScratchDir;
using admin_test::Shell;
using admin_test::WriteFile;

std::string Describe(const SessionRecord& s) {
  char seconds[32] = "-";
  if (s.seconds >= 0) std::snprintf(seconds, sizeof seconds, "%.3f", s.seconds);
  return s.start + " pid=" + s.pid + " user=" + s.user + " client=" + s.client + " key=" + s.key +
         " module=" + s.module + " mode=" + s.mode + " what=" + s.what + " outcome=" + s.outcome +
         " reason=" + s.reason + " status=" + std::to_string(s.status) + " seconds=" + seconds;
}

std::vector<std::string> Parse(const std::string& text) {
  std::vector<std::string> out;
  for (const SessionRecord& s : ParseSessionLog(text, 2026)) out.push_back(Describe(s));
  return out;
}

TEST(SessionLog, TheLogFileFormatPairsByHost) {
  EXPECT_EQ(
      Parse(
          "2026-12-01 02:00:00 192.0.2.7 run ['/usr/bin/rsync', '--server', '--sender', "
          "'-logDtpre.iLsfxCIvu', '.', 'etc/'] sandbox=landlock-abi4\n"
          "2026-12-01 02:00:01 192.0.2.8 run ['/usr/bin/rsync', '--server', '-logDtpre.iLsfxCIvu', "
          "'.', 'in/']\n"
          "2026-12-01 02:00:02 192.0.2.9 refused 'SSH_ORIGINAL_COMMAND does not run rsync' "
          "command \"ls 'x'\"\n"
          "2026-12-01 02:00:05 192.0.2.8 finished status=23 seconds=4.000\n"
          "2026-12-01 02:00:09 192.0.2.7 finished status=0 seconds=9.250\n"
          "2026-12-01 02:01:00 192.0.2.7 run ['/usr/bin/rsync', '--server', '.', 'x']\n"
          "something else\n"),
      (std::vector<std::string>{
          "2026-12-01 02:00:00 pid= user= client=192.0.2.7 key= module= mode= what=pull etc/ "
          "outcome=ok reason= status=0 seconds=9.250",
          "2026-12-01 02:00:01 pid= user= client=192.0.2.8 key= module= mode= what=push in/ "
          "outcome=failed reason= status=23 seconds=4.000",
          "2026-12-01 02:00:02 pid= user= client=192.0.2.9 key= module= mode= what=ls 'x' "
          "outcome=refused reason=SSH_ORIGINAL_COMMAND does not run rsync status=-1 seconds=-",
          "2026-12-01 02:01:00 pid= user= client=192.0.2.7 key= module= mode= what=push x "
          "outcome=unfinished reason= status=-1 seconds=-"}));
}

TEST(SessionLog, TheAuditFormatsPairByPid) {
  const std::string text =
      "2026-12-01 02:00:00 rrsync[100]: accepted client=192.0.2.7 port=5555 user=bk "
      "keys=['ssh-ed25519 SHA256:abc'] module=data mode=read-only sandbox=landlock-abi4 "
      "argv=['/usr/bin/rsync', '--server', '--sender', '-e.iLsfxCIvu', '.', 'a b/']\n"
      "Dec  1 02:00:01 host rrsync[101]: accepted client=192.0.2.8 user=bk mode=write-only "
      "sandbox=off argv=['/usr/bin/rsync', '--server', '.', 'x']\n"
      "2026-12-01T02:00:02+0000 host rrsync[102]: refused client=192.0.2.9 user=bk "
      "reason='Restricted directory does not exist!' command='rsync --server . /'\n"
      "2026-12-01 02:00:03 rrsync[101]: finished client=192.0.2.8 user=bk status=0 seconds=2.000\n"
      "{\"time\":\"2026-12-01T02:00:04+0100\",\"pid\":200,\"event\":\"accepted\",\"client\":"
      "\"192.0.2.10\",\"user\":\"bk\",\"mode\":\"read-write\",\"argv\":[\"/usr/bin/rsync\","
      "\"--server\",\"--sender\",\".\",\"d/\"]}\n"
      "{\"time\":\"2026-12-01T02:00:06+0100\",\"pid\":200,\"event\":\"finished\",\"client\":"
      "\"192.0.2.10\",\"status\":20,\"seconds\":1.5}\n"
      "2026-12-01 02:00:09 rrsync[100]: finished client=192.0.2.7 user=bk status=0 seconds=9.000\n";
  EXPECT_EQ(Parse(text),
            (std::vector<std::string>{
                "2026-12-01 02:00:00 pid=100 user=bk client=192.0.2.7 key=ssh-ed25519 "
                "SHA256:abc module=data mode=read-only what=pull a b/ outcome=ok reason= status=0 "
                "seconds=9.000",
                "2026-12-01 02:00:01 pid=101 user=bk client=192.0.2.8 key= module= "
                "mode=write-only what=push x outcome=ok reason= status=0 seconds=2.000",
                "2026-12-01 02:00:02 pid=102 user=bk client=192.0.2.9 key= module= mode= "
                "what=rsync --server . / outcome=refused reason=Restricted directory does not "
                "exist! status=-1 seconds=-",
                "2026-12-01 02:00:04 pid=200 user=bk client=192.0.2.10 key= module= "
                "mode=read-write what=pull d/ outcome=failed reason= status=20 seconds=1.500"}));
}

TEST(SessionLog, HostileTextStaysOnOneLine) {
  const auto sessions = ParseSessionLog(
      "2026-12-01 02:00:02 192.0.2.9 refused 'x' command 'a\\x1b[31mred\\nb'\n", 2026);
  ASSERT_EQ(sessions.size(), 1u);
  EXPECT_EQ(sessions[0].what, "a\\x1b[31mred\\nb");  // the log's escapes are kept as text
  const std::string text = FormatSessionsText(sessions);
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 2) << text;
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST(SessionLog, Since) {
  std::string start;
  EXPECT_TRUE(ParseSince("2026-12-01", 0, &start));
  EXPECT_EQ(start, "2026-12-01 00:00:00");
  EXPECT_TRUE(ParseSince("2026-12-01 02:30", 0, &start));
  EXPECT_EQ(start, "2026-12-01 02:30:00");
  EXPECT_TRUE(ParseSince("2026-12-01 02:30:59", 0, &start));
  EXPECT_EQ(start, "2026-12-01 02:30:59");
  EXPECT_TRUE(ParseSince("2d", 3 * 86400, &start));
  for (const char* bad : {"", "yesterday", "2026-12-1", "3w", "d", "2026-12-01 2:30"})
    EXPECT_FALSE(ParseSince(bad, 0, &start)) << bad;
}

// A real pull, a real push and a refusal through the built rrsync with the real rsync client
// (an rsh that sets what sshd would), then the command reads the log rrsync wrote.
TEST(SessionsCommand, ReadsTheLogRrsyncWrote) {
  ScratchDir scratch;
  const std::string dir = scratch.path() + "/data";
  const std::string log = scratch.path() + "/rrsync.log";
  ASSERT_EQ(mkdir(dir.c_str(), 0755), 0);
  WriteFile(dir + "/file", "content\n");
  WriteFile(log, "", 0600);
  const std::string rsh = scratch.path() + "/rsh";
  WriteFile(rsh,
            "#!/bin/sh\nshift\nSSH_ORIGINAL_COMMAND=\"$*\" SSH_CONNECTION='192.0.2.7 5555 "
            "127.0.0.1 22' exec " +
                std::string(RRSYNC_BINARY) + " -log=" + log + " " + dir + "\n",
            0755);
  ASSERT_EQ(RunCommand({"rsync", "-a", "-e", rsh, "host:/", scratch.path() + "/copy/"}).exit_code,
            0);
  ASSERT_EQ(
      RunCommand({"rsync", "-a", "-e", rsh, scratch.path() + "/copy/", "host:/back/"}).exit_code,
      0);
  Shell("SSH_ORIGINAL_COMMAND='cat /etc/shadow' SSH_CONNECTION='192.0.2.9 1 127.0.0.1 22' " +
        std::string(RRSYNC_BINARY) + " -log=" + log + " " + dir);
  ProcessResult r = RunCommand({RRSYNC_ADMIN_BINARY, "sessions", "--log", log});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines;
  for (size_t pos = 0, nl; (nl = r.out.find('\n', pos)) != std::string::npos; pos = nl + 1)
    lines.push_back(r.out.substr(pos, nl - pos));
  ASSERT_EQ(lines.size(), 4u) << r.out << ReadFile(log);
  EXPECT_EQ(lines[0],
            "START                USER          CLIENT           MODE        OUTCOME      SECONDS  "
            "WHAT");
  EXPECT_EQ(lines[1].substr(19, 50), "  -             192.0.2.7        -           ok   ");
  EXPECT_EQ(lines[1].substr(lines[1].size() - 8), "  pull .") << lines[1];
  EXPECT_EQ(lines[2].substr(lines[2].size() - 12), "  push back/") << lines[2];
  EXPECT_EQ(lines[3].substr(19),
            "  -             192.0.2.9        -           refused            -  "
            "cat /etc/shadow (SSH_ORIGINAL_COMMAND does not run rsync)");
  r = RunCommand(
      {RRSYNC_ADMIN_BINARY, "sessions", "--log", log, "--since", "1d", "--last", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("\"outcome\": \"refused\""), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("\"outcome\": \"ok\""), std::string::npos) << r.out;
  r = RunCommand({RRSYNC_ADMIN_BINARY, "sessions", "--log", log, "--since", "soon"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "rrsync-admin error: --since \"soon\" is neither YYYY-MM-DD[ HH:MM[:SS]] nor N "
            "followed by m, h or d\n");
}

}  // namespace
}  // namespace rrsync
