#include "audit_log.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <pwd.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include "sha256.h"
#include "test_support.h"

namespace rrsync {
namespace {

using testing::ReadFile;
using testing::RunProgram;
using testing::WriteFile;

std::string Hex(const std::array<uint8_t, 32>& digest) {
  std::string out;
  char buf[3];
  for (uint8_t b : digest) {
    std::snprintf(buf, sizeof(buf), "%02x", b);
    out += buf;
  }
  return out;
}

TEST(Sha256, KnownVectors) {
  EXPECT_EQ(Hex(Sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(Hex(Sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Hex(Sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  EXPECT_EQ(Hex(Sha256(std::string(1000000, 'a'))),
            "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, PaddingBoundaries) {
  // Lengths around the 55/56/64-byte padding edges, against sha256sum.
  for (size_t n : {55u, 56u, 63u, 64u, 65u, 119u, 120u}) {
    testing::TempDir tmp;
    std::string data(n, 'x');
    WriteFile(tmp / "f", data);
    auto r = RunProgram({"/usr/bin/sha256sum", tmp / "f"}, {}, tmp.path());
    ASSERT_EQ(r.status, 0);
    EXPECT_EQ(Hex(Sha256(data)), r.out.substr(0, 64)) << n;
  }
}

TEST(KeyFingerprints, MatchSshKeygen) {
  testing::TempDir tmp;
  auto gen = RunProgram({"/usr/bin/ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", tmp / "k"},
                        {}, tmp.path());
  ASSERT_EQ(gen.status, 0) << gen.err;
  auto listed = RunProgram({"/usr/bin/ssh-keygen", "-l", "-f", tmp / "k.pub"}, {}, tmp.path());
  ASSERT_EQ(listed.status, 0);
  // "256 SHA256:xxxx comment (ED25519)"
  std::string expected = listed.out.substr(4, listed.out.find(' ', 4) - 4);
  std::string pub = ReadFile(tmp / "k.pub");
  std::string blob = pub.substr(pub.find(' ') + 1);
  blob = blob.substr(0, blob.find(' '));
  EXPECT_EQ(Sha256Fingerprint(blob), expected);
  std::vector<std::string> keys =
      KeyFingerprints("password\npublickey ssh-ed25519 " + blob + "\nkeyboard-interactive\n");
  EXPECT_EQ(keys, std::vector<std::string>{"ssh-ed25519 " + expected});
  EXPECT_TRUE(KeyFingerprints("publickey ssh-ed25519 !!notbase64\n").empty());
  EXPECT_EQ(Sha256Fingerprint("%%%"), "");
}

TEST(ReadUserAuthFile, ReadsOnlyARegularFileNotThroughASymlink) {
  testing::TempDir tmp;
  WriteFile(tmp / "auth", "publickey ssh-ed25519 AAAA\n");
  symlink((tmp / "auth").c_str(), (tmp / "link").c_str());
  EXPECT_EQ(ReadUserAuthFile((tmp / "auth").c_str()), "publickey ssh-ed25519 AAAA\n");
  EXPECT_EQ(ReadUserAuthFile((tmp / "link").c_str()), "");
  EXPECT_EQ(ReadUserAuthFile(tmp.path().c_str()), "");
  EXPECT_EQ(ReadUserAuthFile(nullptr), "");
  EXPECT_EQ(ReadUserAuthFile("relative"), "");
}

TEST(UserName, FromThePasswdFileThenNss) {
  testing::TempDir dir;
  WriteFile(dir / "passwd",
            "root:x:0:0:root:/root:/bin/bash\n"
            "+:::::::\n"
            "# not a line of the format\n"
            "backup:x:34:34:backup:/var/backups:/usr/sbin/nologin\n"
            "other:x:1034:100::/home/other:/bin/sh");
  EXPECT_EQ(UserName(34, (dir / "passwd").c_str()), "backup");
  EXPECT_EQ(UserName(1034, (dir / "passwd").c_str()), "other");  // last line, no newline
  EXPECT_EQ(UserName(0, (dir / "passwd").c_str()), "root");
  // Not in the file: NSS answers (here from the system's own files), or nobody does.
  const struct passwd* nobody = getpwuid(65534);
  EXPECT_EQ(UserName(65534, (dir / "passwd").c_str()), nobody ? nobody->pw_name : "");
  EXPECT_EQ(UserName(4000000, (dir / "passwd").c_str()), "");
  EXPECT_EQ(UserName(0, (dir / "missing").c_str()), getpwuid(0)->pw_name);
}

TEST(ParseSshConnection, AddressAndPort) {
  std::string address, port;
  ParseSshConnection("192.0.2.7 50000 192.0.2.1 22", &address, &port);
  EXPECT_EQ(address, "192.0.2.7");
  EXPECT_EQ(port, "50000");
  ParseSshConnection("::ffff:10.0.0.1 4 10.0.0.2 22", &address, &port);
  EXPECT_EQ(address, "10.0.0.1");
  ParseSshConnection(nullptr, &address, &port);
  EXPECT_EQ(address, "unknown");
  EXPECT_EQ(port, "");
}

TEST(JsonString, EscapesQuotesBackslashesAndControls) {
  EXPECT_EQ(JsonString("a\"b\\c\n\x01\x7f"), "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\"");
  EXPECT_EQ(JsonString("h\xc3\xa9"), "\"h\xc3\xa9\"");
}

// A syslog daemon of our own: a datagram socket the AuditLog is pointed at.
class SyslogCapture {
 public:
  explicit SyslogCapture(const std::string& path) : path_(path) {
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr = {};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof(addr.sun_path) - 1);
    EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  }
  ~SyslogCapture() { close(fd_); }
  // The datagrams received so far.
  std::vector<std::string> Lines() {
    std::vector<std::string> lines;
    char buf[65536];
    while (true) {
      ssize_t n = recv(fd_, buf, sizeof(buf), MSG_DONTWAIT);
      if (n <= 0) break;
      lines.emplace_back(buf, static_cast<size_t>(n));
    }
    return lines;
  }

 private:
  std::string path_;
  int fd_;
};

// Strips "<PRI>Mmm dd hh:mm:ss rrsync[PID]: " after checking its shape; returns the message.
std::string SyslogMessage(const std::string& datagram, int* priority) {
  size_t close = datagram.find('>');
  *priority = std::stoi(datagram.substr(1, close - 1));
  size_t ident = datagram.find(" rrsync[");
  EXPECT_EQ(ident, close + 16) << datagram;
  size_t colon = datagram.find("]: ", ident);
  EXPECT_EQ(datagram.substr(ident + 8, colon - ident - 8), std::to_string(getpid()));
  return datagram.substr(colon + 3);
}

class AuditLogTest : public ::testing::Test {
 protected:
  AuditLogOptions Options() {
    AuditLogOptions o;
    o.syslog_socket = tmp_ / "log.sock";
    o.facility = LOG_LOCAL3;
    return o;
  }
  SessionFacts Facts() {
    SessionFacts f;
    f.client_address = "192.0.2.7";
    f.client_port = "50000";
    f.user = "backup";
    f.keys = {"ssh-ed25519 SHA256:abc+/def"};
    f.module = "logs";
    return f;
  }
  // The syslog datagrams `write` makes an AuditLog with Options() and Facts() send.
  std::vector<std::string> SyslogLinesOf(const std::function<void(AuditLog&)>& write) {
    SyslogCapture capture(tmp_ / "log.sock");
    AuditLog log(Options());
    log.set_facts(Facts());
    write(log);
    return capture.Lines();
  }
  testing::TempDir tmp_;
};

TEST_F(AuditLogTest, SyslogLinesForAcceptedRefusedAndFinished) {
  std::vector<std::string> lines = SyslogLinesOf([](AuditLog& log) {
    log.Accepted("read-only", "landlock-abi7", "rights=x y", {"/usr/bin/rsync", "--server", "a b"});
    log.Refused("unsafe arg: x", "rsync --server . x");
    log.Finished(23, 1.5);
  });
  ASSERT_EQ(lines.size(), 3u);
  int priority;
  EXPECT_EQ(SyslogMessage(lines[0], &priority),
            "accepted client=192.0.2.7 port=50000 user=backup "
            "keys=['ssh-ed25519 SHA256:abc+/def'] module=logs mode=read-only "
            "sandbox=landlock-abi7 notes='rights=x y' argv=['/usr/bin/rsync', '--server', 'a b']");
  EXPECT_EQ(priority, LOG_LOCAL3 | LOG_INFO);
  EXPECT_EQ(SyslogMessage(lines[1], &priority),
            "refused client=192.0.2.7 port=50000 user=backup keys=['ssh-ed25519 SHA256:abc+/def'] "
            "module=logs reason='unsafe arg: x' command='rsync --server . x'");
  EXPECT_EQ(priority, LOG_LOCAL3 | LOG_WARNING);
  EXPECT_EQ(SyslogMessage(lines[2], &priority),
            "finished client=192.0.2.7 port=50000 user=backup "
            "keys=['ssh-ed25519 SHA256:abc+/def'] module=logs status=23 seconds=1.500");
}

// Snapshot mode: the finished line names the snapshot made, or none and why (escaped).
TEST_F(AuditLogTest, FinishedLineSaysWhatBecameOfTheSnapshot) {
  std::vector<std::string> lines = SyslogLinesOf([](AuditLog& log) {
    AuditLog::SnapshotOutcome made{"btrfs-subvolume", "2026-12-02T020000Z", ""};
    AuditLog::SnapshotOutcome none{"overlay", "", "merge failed: Failed to merge \"a\nb\""};
    log.Finished(0, 2, &made);
    log.Finished(1, 3, &none);
  });
  ASSERT_EQ(lines.size(), 2u);
  int priority;
  EXPECT_EQ(SyslogMessage(lines[0], &priority),
            "finished client=192.0.2.7 port=50000 user=backup "
            "keys=['ssh-ed25519 SHA256:abc+/def'] module=logs status=0 seconds=2.000 "
            "snapshot=2026-12-02T020000Z snapshot_level=btrfs-subvolume");
  EXPECT_EQ(SyslogMessage(lines[1], &priority),
            "finished client=192.0.2.7 port=50000 user=backup "
            "keys=['ssh-ed25519 SHA256:abc+/def'] module=logs status=1 seconds=3.000 "
            "snapshot=none snapshot_level=overlay "
            "snapshot_why='merge failed: Failed to merge \"a\\\\x0ab\"'");
  EXPECT_EQ(priority, LOG_LOCAL3 | LOG_WARNING);
}

TEST_F(AuditLogTest, DefaultFacilityIsAuth) {
  SyslogCapture capture(tmp_ / "log.sock");
  AuditLogOptions o = Options();
  o.facility = -1;
  AuditLog log(o);
  log.Refused("no", "x");
  std::vector<std::string> lines = capture.Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_TRUE(lines[0].starts_with("<" + std::to_string(LOG_AUTH | LOG_WARNING) + ">")) << lines[0];
}

TEST_F(AuditLogTest, JsonLinesFieldByField) {
  AuditLogOptions o = Options();
  o.file = tmp_ / "audit.log";
  o.format = LogFormat::kJson;
  {
    AuditLog log(o);
    log.set_facts(Facts());
    log.Accepted("write-only", "off", "", {"/usr/bin/rsync", "--server", "x\"y"});
    log.Refused("bad\nthing", "rsync\x1b[31m red\n");
    log.Finished(0, 0.25);
  }
  struct stat st;
  ASSERT_EQ(stat((tmp_ / "audit.log").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  std::string text = ReadFile(tmp_ / "audit.log");
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < text.size();) {
    size_t nl = text.find('\n', pos);
    lines.push_back(text.substr(pos, nl - pos));
    pos = nl + 1;
  }
  ASSERT_EQ(lines.size(), 3u) << text;
  // Parsed by a real JSON parser (python3 is in scripts/deps), as an auditor's tool would.
  for (size_t i = 0; i < lines.size(); ++i) {
    WriteFile(tmp_ / "line", lines[i]);
    auto jq = RunProgram({"/usr/bin/python3", "-c",
                          "import json,sys; d=json.load(open(sys.argv[1])); "
                          "print('|'.join(k+'='+json.dumps(v) for k,v in d.items() "
                          "if k not in ('time','pid')))",
                          tmp_ / "line"},
                         {}, tmp_.path());
    ASSERT_EQ(jq.status, 0) << jq.err << lines[i];
    const char* expected[] = {
        "event=\"accepted\"|client=\"192.0.2.7\"|port=\"50000\"|user=\"backup\"|"
        "keys=[\"ssh-ed25519 SHA256:abc+/def\"]|module=\"logs\"|mode=\"write-only\"|"
        "sandbox=\"off\"|argv=[\"/usr/bin/rsync\", \"--server\", \"x\\\"y\"]\n",
        "event=\"refused\"|client=\"192.0.2.7\"|port=\"50000\"|user=\"backup\"|"
        "keys=[\"ssh-ed25519 SHA256:abc+/def\"]|module=\"logs\"|reason=\"bad\\\\x0athing\"|"
        "command=\"rsync\\\\x1b[31m red\\\\x0a\"\n",
        "event=\"finished\"|client=\"192.0.2.7\"|port=\"50000\"|user=\"backup\"|"
        "keys=[\"ssh-ed25519 SHA256:abc+/def\"]|module=\"logs\"|status=0|seconds=0.25\n",
    };
    EXPECT_EQ(jq.out, expected[i]);
  }
  EXPECT_EQ(text.find('\x1b'), std::string::npos);
}

TEST_F(AuditLogTest, TextFileLinesAreOneLineEach) {
  AuditLogOptions o = Options();
  o.file = tmp_ / "audit.log";
  WriteFile(o.file, "earlier line\n");
  {
    AuditLog log(o);
    log.set_facts(Facts());
    log.Refused("x", "rsync --server . evil\nFAKE accepted line\r\x1b]0;title\x07");
  }
  std::string text = ReadFile(o.file);
  ASSERT_TRUE(text.starts_with("earlier line\n"));
  std::string line = text.substr(13);
  EXPECT_EQ(std::count(line.begin(), line.end(), '\n'), 1) << line;
  EXPECT_NE(line.find(" rrsync[" + std::to_string(getpid()) + "]: refused client=192.0.2.7"),
            std::string::npos);
  // Escaped, then quoted: a backslash the client sent cannot pass for one of the escapes.
  EXPECT_NE(line.find("command='rsync --server . evil\\\\x0aFAKE accepted line\\\\x0d\\\\x1b]0;"
                      "title\\\\x07'"),
            std::string::npos)
      << line;
}

TEST_F(AuditLogTest, NeverWritesThroughASymlinkAndSaysSoOnce) {
  WriteFile(tmp_ / "target", "");
  symlink((tmp_ / "target").c_str(), (tmp_ / "audit.log").c_str());
  AuditLogOptions o = Options();
  o.file = tmp_ / "audit.log";
  ::testing::internal::CaptureStderr();
  {
    AuditLog log(o);
    log.Refused("x", "y");
    log.Refused("x", "y");
  }
  std::string err = ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(err, "rrsync warning: cannot open log file " + o.file +
                     ": Too many levels of symbolic links\n");
  EXPECT_EQ(ReadFile(tmp_ / "target"), "");
}

TEST_F(AuditLogTest, UnreachableSyslogIsReportedOnceOnlyWhenAsked) {
  AuditLogOptions o = Options();  // nobody listens on log.sock
  ::testing::internal::CaptureStderr();
  {
    AuditLog quiet(o);
    quiet.Refused("x", "y");
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "");
  o.report_syslog_failure = true;
  ::testing::internal::CaptureStderr();
  {
    AuditLog loud(o);
    loud.Refused("x", "y");
    loud.Finished(0, 1);
  }
  EXPECT_EQ(::testing::internal::GetCapturedStderr(), "rrsync warning: cannot log to syslog at " +
                                                          o.syslog_socket +
                                                          ": No such file or directory\n");
}

TEST_F(AuditLogTest, LongValuesAreCapped) {
  SyslogCapture capture(tmp_ / "log.sock");
  AuditLog log(Options());
  log.Refused("x", "rsync --server . " + std::string(100000, 'A'));
  log.Accepted("read-write", "off", "", std::vector<std::string>(100, std::string(1000, 'B')));
  std::vector<std::string> lines = capture.Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_LT(lines[0].size(), 4096u + 300);
  EXPECT_NE(lines[0].find("...'"), std::string::npos);
  EXPECT_LT(lines[1].size(), 4096u + 1000);
  EXPECT_NE(lines[1].find("'...']"), std::string::npos);
}

}  // namespace
}  // namespace rrsync
