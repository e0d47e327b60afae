#include "admin_probe.h"

#include <gtest/gtest.h>

namespace rrsync {
namespace {

constexpr char kNonce[] = "0123456789abcdef01234567";

TEST(ProbeCommand, AsksThenEchoesTheMarker) {
  EXPECT_EQ(ProbeCommand(kNonce),
            "rrsync-probe v1; echo rrsync-probe-shell-0123456789abcdef01234567");
}

TEST(MakeProbeNonce, IsFreshHex) {
  std::string a = MakeProbeNonce(), b = MakeProbeNonce();
  EXPECT_EQ(a.size(), 24u);
  EXPECT_NE(a, b);
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(ClassifyProbe, OurAnswer) {
  ProbeResult r = ClassifyProbe(kNonce, 0, "rrsync-probe ok version=0.1.0 mode=read-only\n", "");
  EXPECT_EQ(r.verdict, ProbeVerdict::kOurs);
  EXPECT_EQ(r.version, "0.1.0");
  EXPECT_EQ(r.mode, "read-only");
  EXPECT_EQ(DescribeProbe("backup", r), "OK backup: restricted by rrsync 0.1.0 (read-only)");
}

TEST(ClassifyProbe, AShellThatAlsoPrintsAnAnswerIsStillAShell) {
  // A program named rrsync-probe on an unrestricted login must not pass for rrsync.
  ProbeResult r = ClassifyProbe(
      kNonce, 0,
      "rrsync-probe ok version=0.1.0 mode=read-only\nrrsync-probe-shell-0123456789abcdef01234567\n",
      "");
  EXPECT_EQ(r.verdict, ProbeVerdict::kShell);
  EXPECT_EQ(DescribeProbe("backup", r),
            "FAIL backup: NOT restricted: a shell ran the probe's echo");
}

TEST(ClassifyProbe, ShellWithCommandNotFound) {
  ProbeResult r = ClassifyProbe(kNonce, 0, "rrsync-probe-shell-0123456789abcdef01234567\n",
                                "sh: 1: rrsync-probe: not found\n");
  EXPECT_EQ(r.verdict, ProbeVerdict::kShell);
}

TEST(ClassifyProbe, AnEchoOfTheCommandIsNotTheMarker) {
  // command="echo $SSH_ORIGINAL_COMMAND" prints the request back on one line.
  ProbeResult r = ClassifyProbe(
      kNonce, 0, "rrsync-probe v1; echo rrsync-probe-shell-0123456789abcdef01234567\n", "");
  EXPECT_EQ(r.verdict, ProbeVerdict::kUnknown);
}

TEST(ClassifyProbe, WrongNonceIsNotTheMarker) {
  ProbeResult r = ClassifyProbe(kNonce, 0, "rrsync-probe-shell-ffffffffffffffffffffffff\n", "");
  EXPECT_EQ(r.verdict, ProbeVerdict::kUnknown);
}

TEST(ClassifyProbe, Unreachable) {
  ProbeResult r = ClassifyProbe(kNonce, 255, "",
                                "ssh: connect to host 127.0.0.1 port 1: Connection refused\r\n");
  EXPECT_EQ(r.verdict, ProbeVerdict::kUnreachable);
  EXPECT_EQ(DescribeProbe("backup", r),
            "FAIL backup: unreachable or authentication failed: ssh: connect to host 127.0.0.1 "
            "port 1: Connection refused");
}

TEST(ClassifyProbe, UpstreamRrsync) {
  ProbeResult r = ClassifyProbe(kNonce, 1, "",
                                "/usr/bin/rrsync error: SSH_ORIGINAL_COMMAND does not run rsync\n");
  EXPECT_EQ(r.verdict, ProbeVerdict::kOtherRrsync);
}

TEST(ClassifyProbe, MalformedAnswersAreUnknown) {
  for (const char* out :
       {"rrsync-probe ok version=0.1.0 mode=everything\n", "rrsync-probe ok version=0.1.0\n",
        "rrsync-probe ok version=0.1.0 mode=read-only\nmore\n",
        "rrsync-probe ok version=a\x1b[31m mode=read-only\n"}) {
    EXPECT_EQ(ClassifyProbe(kNonce, 0, out, "").verdict, ProbeVerdict::kUnknown) << out;
  }
  ProbeResult r = ClassifyProbe(kNonce, 3, "hello\x1b[2J\n", "");
  EXPECT_EQ(r.verdict, ProbeVerdict::kUnknown);
  EXPECT_EQ(DescribeProbe("backup", r),
            "WARN backup: restricted by an unknown forced command: exit 3, said "
            "\"hello\\x1b[2J\\n\"");
}

TEST(ProbeSshArgv, SafeDefaultsFirstThenTheCallersOptions) {
  std::vector<std::string> argv =
      ProbeSshArgv("ssh", "backup", {"-F", "/tmp/cfg", "-p", "2222"}, "CMD", 15);
  EXPECT_EQ(argv, (std::vector<std::string>{"ssh", "-T",
                                            "-o",  "BatchMode=yes",
                                            "-o",  "ForwardAgent=no",
                                            "-o",  "ForwardX11=no",
                                            "-o",  "ClearAllForwardings=yes",
                                            "-o",  "PermitLocalCommand=no",
                                            "-o",  "ControlMaster=no",
                                            "-o",  "ControlPath=none",
                                            "-F",  "/tmp/cfg",
                                            "-p",  "2222",
                                            "-o",  "ConnectTimeout=15",
                                            "--",  "backup",
                                            "CMD"}));
}

}  // namespace
}  // namespace rrsync
